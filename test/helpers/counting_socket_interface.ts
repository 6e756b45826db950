// A default socket interface that counts its hook calls in the server's stats
// ("test.socket_interface.<hook>"), so that tests can observe hooks run in worker processes
// through the primary's /stats.
import type * as net from 'node:net';
import { DefaultSocketInterface } from '../../src/network/socket_interface';
import type { ServerFactoryContext, SocketInterfaceExtension, SocketInterfaceFactory } from '../../src/registry/bootstrap_extension';
import type { StatsStore } from '../../src/stats/stats';

export const COUNTING_SOCKET_INTERFACE = 'test.counting_socket_interface';

class CountingSocketInterface extends DefaultSocketInterface {
  constructor(private readonly stats: StatsStore) {
    super(COUNTING_SOCKET_INTERFACE);
  }

  override accepted(_socket: net.Socket): void {
    this.stats.counter('test.socket_interface.accepted').inc();
  }

  override connected(_socket: net.Socket): void {
    this.stats.counter('test.socket_interface.connected').inc();
  }

  override duplicated(_socket: net.Socket): void {
    this.stats.counter('test.socket_interface.duplicated').inc();
  }

  override closing(_socket: net.Socket): void {
    this.stats.counter('test.socket_interface.closing').inc();
  }
}

export const countingSocketInterfaceFactory: SocketInterfaceFactory = {
  name: COUNTING_SOCKET_INTERFACE,
  configTypes: [],
  isSocketInterface: true,
  createBootstrapExtension: (_config: unknown, context: ServerFactoryContext): SocketInterfaceExtension => ({
    socketInterface: new CountingSocketInterface(context.stats),
  }),
};
