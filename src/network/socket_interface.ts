import * as net from 'node:net';

/**
 * Every listener accept and every upstream connect goes through a SocketInterface, as in Envoy
 * (envoy/network/socket_interface.h). The hooks let an extension act on each socket:
 * - before the proxy writes its first byte (accepted, connected, duplicated), and
 * - before its descriptor is closed (closing).
 * A hook may return a promise; the proxy does not write to the socket until it settles.
 * Hooks must never throw for a socket they cannot handle: such a socket stays on the standard
 * datapath.
 */
export interface SocketInterface {
  /** The extension name this interface was registered under. */
  readonly name: string;
  /** Opens a listening server; every connection it emits must be passed to accepted(). */
  createServer(options: net.ServerOpts, onConnection: (socket: net.Socket) => void): net.Server;
  /** Starts an upstream connection; connected() runs once it is established. */
  connect(options: net.TcpNetConnectOpts): net.Socket;
  /** A socket accepted by a listener in this process. */
  accepted(socket: net.Socket): void | Promise<void>;
  /** An upstream socket whose connect completed. */
  connected(socket: net.Socket): void | Promise<void>;
  /** A socket whose descriptor this process received from another process (a worker hand-off). */
  duplicated(socket: net.Socket): void | Promise<void>;
  /** The proxy is about to close or destroy the socket; no more reads will be made. */
  closing(socket: net.Socket): void;
  /** A listener of this process is bound and accepting at this address. */
  listening(address: net.AddressInfo): void;
  /** Releases what the interface holds (maps, programs, links). */
  shutdown(): Promise<void>;
}

/** The default socket interface: plain node:net, no hooks. */
export class DefaultSocketInterface implements SocketInterface {
  constructor(readonly name = 'envoy.extensions.network.socket_interface.default_socket_interface') {}

  createServer(options: net.ServerOpts, onConnection: (socket: net.Socket) => void): net.Server {
    return net.createServer(options, onConnection);
  }

  connect(options: net.TcpNetConnectOpts): net.Socket {
    return net.connect(options);
  }

  accepted(_socket: net.Socket): void | Promise<void> {}
  connected(_socket: net.Socket): void | Promise<void> {}
  duplicated(_socket: net.Socket): void | Promise<void> {}
  closing(_socket: net.Socket): void {}
  listening(_address: net.AddressInfo): void {}
  async shutdown(): Promise<void> {}
}

/** The file descriptor behind a connected net.Socket, or undefined when it has none. */
export function socketFd(socket: net.Socket): number | undefined {
  const handle = (socket as unknown as { _handle?: { fd?: number } })._handle;
  return typeof handle?.fd === 'number' && handle.fd >= 0 ? handle.fd : undefined;
}
