import type * as net from 'node:net';
import type { SocketInterface } from '../network/socket_interface';
import type { Host } from './cluster';

/**
 * How an upstream connect ended:
 * - connected: established, and the socket interface's connected() hook has settled;
 * - connect_fail: refused, unreachable, or the connected() hook failed;
 * - connect_timeout: not established within the cluster's connect_timeout;
 * - closed: the socket was closed by its owner before the connect finished.
 */
export type UpstreamConnectOutcome = 'connected' | 'connect_fail' | 'connect_timeout' | 'closed';

export interface UpstreamConnectAttempt {
  /** The socket being connected; its owner closes it on any outcome but 'connected'. */
  readonly socket: net.Socket;
  readonly outcome: Promise<UpstreamConnectOutcome>;
}

/**
 * Connects to the host through the socket interface. Nothing may be written to the socket until
 * the outcome is 'connected', so that the interface sees the socket before its first byte.
 */
export function connectUpstream(socketInterface: SocketInterface, host: Host, timeoutMs: number): UpstreamConnectAttempt {
  const socket = socketInterface.connect({ host: host.host, port: host.port, allowHalfOpen: true });
  const outcome = new Promise<UpstreamConnectOutcome>((resolve) => {
    const timer = setTimeout(() => finish('connect_timeout'), timeoutMs);
    const onError = () => finish('connect_fail');
    const onClose = () => finish('closed');
    function finish(result: UpstreamConnectOutcome): void {
      clearTimeout(timer);
      socket.off('error', onError);
      socket.off('close', onClose);
      resolve(result);
    }
    socket.once('error', onError);
    socket.once('close', onClose);
    socket.once('connect', () => {
      clearTimeout(timer);
      Promise.resolve()
        .then(() => socketInterface.connected(socket))
        .then(
          () => finish(socket.destroyed ? 'closed' : 'connected'),
          () => finish('connect_fail'),
        );
    });
  });
  return { socket, outcome };
}
