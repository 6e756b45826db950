// A socket interface that behaves like the default one and records every hook call, with the
// state of the socket at that moment, so tests can check the order of events.
import type * as net from 'node:net';
import { DefaultSocketInterface } from '../../src/network/socket_interface';
import type { SocketInterfaceExtension, SocketInterfaceFactory } from '../../src/registry/bootstrap_extension';

export type HookName = 'accepted' | 'connected' | 'duplicated' | 'closing' | 'listening' | 'shutdown';

export interface HookCall {
  hook: HookName;
  socket?: net.Socket;
  /** Bytes written to the socket when the hook ran. */
  bytesWritten?: number;
  destroyed?: boolean;
  /** Date.now() when the hook was called. */
  at: number;
}

export class RecordingSocketInterface extends DefaultSocketInterface {
  readonly calls: HookCall[] = [];
  /** Every socket created by connect() or accepted by a listener. */
  readonly sockets = new Set<net.Socket>();

  constructor(
    name: string,
    /** Delay added to accepted() and connected(), to show that the proxy waits for them. */
    private readonly hookDelayMs = 0,
  ) {
    super(name);
  }

  override connect(options: net.TcpNetConnectOpts): net.Socket {
    const socket = super.connect(options);
    this.sockets.add(socket);
    return socket;
  }

  override accepted(socket: net.Socket): Promise<void> {
    this.sockets.add(socket);
    return this.record('accepted', socket);
  }

  override connected(socket: net.Socket): Promise<void> {
    return this.record('connected', socket);
  }

  override duplicated(socket: net.Socket): Promise<void> {
    this.sockets.add(socket);
    return this.record('duplicated', socket);
  }

  override closing(socket: net.Socket): void {
    this.calls.push({ hook: 'closing', socket, bytesWritten: socket.bytesWritten, destroyed: socket.destroyed, at: Date.now() });
  }

  override listening(_address: net.AddressInfo): void {
    this.calls.push({ hook: 'listening', at: Date.now() });
  }

  override async shutdown(): Promise<void> {
    this.calls.push({ hook: 'shutdown', at: Date.now() });
  }

  callsFor(socket: net.Socket): HookName[] {
    return this.calls.filter((c) => c.socket === socket).map((c) => c.hook);
  }

  private async record(hook: HookName, socket: net.Socket): Promise<void> {
    this.calls.push({ hook, socket, bytesWritten: socket.bytesWritten, destroyed: socket.destroyed, at: Date.now() });
    if (this.hookDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.hookDelayMs));
  }
}

/** A socket interface factory handing out the given instance. */
export function recordingSocketInterfaceFactory(socketInterface: RecordingSocketInterface): SocketInterfaceFactory {
  return {
    name: socketInterface.name,
    configTypes: [],
    isSocketInterface: true,
    createBootstrapExtension: (): SocketInterfaceExtension => ({ socketInterface }),
  };
}
