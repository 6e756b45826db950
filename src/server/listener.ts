import type * as net from 'node:net';
import { getLogger } from '../common/logger';
import type { SocketInterface } from '../network/socket_interface';
import type { Counter, Gauge, StatsStore } from '../stats/stats';
import type { ClusterManager } from '../upstream/cluster_manager';
import type { NetworkFilterFactoryCb } from './filter_context';
import { hostPortOf, listenerStatPrefix } from './listener_address';
import type { ResolvedListener } from './resolved_bootstrap';
import { destroySocket } from './socket_close';

const logger = getLogger('listener');

/**
 * How sockets reach this process: 'accepted' by its own listen socket, or 'duplicated' when another
 * process accepted them and passed the descriptor over (node:cluster round robin, see server.ts).
 */
export type SocketHandoff = 'accepted' | 'duplicated';

export interface ListenerContext {
  readonly socketInterface: SocketInterface;
  readonly stats: StatsStore;
  readonly clusterManager: ClusterManager;
  readonly handoff: SocketHandoff;
  /** Used for Envoy's per-worker stats ("listener.<address>.worker_<index>.downstream_cx_total"). */
  readonly workerIndex: number;
}

interface ListenerStats {
  downstream_cx_total: Counter;
  downstream_cx_active: Gauge;
  downstream_cx_rx_bytes_total: Counter;
  downstream_cx_tx_bytes_total: Counter;
  worker_downstream_cx_total: Counter;
}

function listenerStats(stats: StatsStore, prefix: string, workerIndex: number): ListenerStats {
  return {
    downstream_cx_total: stats.counter(`${prefix}downstream_cx_total`),
    downstream_cx_active: stats.gauge(`${prefix}downstream_cx_active`),
    downstream_cx_rx_bytes_total: stats.counter(`${prefix}downstream_cx_rx_bytes_total`),
    downstream_cx_tx_bytes_total: stats.counter(`${prefix}downstream_cx_tx_bytes_total`),
    worker_downstream_cx_total: stats.counter(`${prefix}worker_${workerIndex}.downstream_cx_total`),
  };
}

/**
 * A listener bound to its address that runs the filter chain on every connection, after the socket
 * interface has seen the socket (Envoy's ActiveTcpListener). Byte counts are added when a
 * connection closes.
 */
export class ActiveListener {
  readonly name: string;
  private server: net.Server | undefined;
  private bound: net.AddressInfo | undefined;
  private stats: ListenerStats | undefined;
  private readonly connections = new Set<net.Socket>();

  constructor(
    private readonly config: ResolvedListener,
    private readonly context: ListenerContext,
  ) {
    this.name = config.listener.name;
  }

  /** Builds the filter chain, binds, and resolves with the bound address. */
  async start(): Promise<net.AddressInfo> {
    const { socketInterface } = this.context;
    const filterChain = this.config.filters.map((filter) =>
      filter.factory.createFilterFactory(filter.config, {
        listenerName: this.name,
        socketInterface,
        stats: this.context.stats,
        clusterManager: this.context.clusterManager,
      }),
    );
    const { host, port } = hostPortOf(this.config.listener.address, `listener '${this.name}'`);
    const server = socketInterface.createServer({ allowHalfOpen: true }, (socket) => this.onConnection(socket, filterChain));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => logger.error(`listener '${this.name}': ${err.message}`));
    const bound = server.address() as net.AddressInfo;
    this.bound = bound;
    this.stats = listenerStats(this.context.stats, listenerStatPrefix(bound, this.config.listener.stat_prefix), this.context.workerIndex);
    socketInterface.listening(bound);
    logger.info(`listener '${this.name}' listening on ${bound.address}:${bound.port}`);
    return bound;
  }

  address(): net.AddressInfo | undefined {
    return this.bound;
  }

  /** Stops accepting and closes every connection (closing() first). */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    const closed = server?.listening ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
    for (const socket of this.connections) destroySocket(this.context.socketInterface, socket);
    await closed;
  }

  private onConnection(socket: net.Socket, filterChain: NetworkFilterFactoryCb[]): void {
    const stats = this.stats;
    if (!stats || !this.server) {
      socket.destroy();
      return;
    }
    this.connections.add(socket);
    stats.downstream_cx_total.inc();
    stats.worker_downstream_cx_total.inc();
    stats.downstream_cx_active.inc();
    socket.on('error', (err) => logger.debug(`listener '${this.name}' connection: ${err.message}`));
    socket.once('close', () => {
      this.connections.delete(socket);
      stats.downstream_cx_active.dec();
      stats.downstream_cx_rx_bytes_total.inc(socket.bytesRead);
      stats.downstream_cx_tx_bytes_total.inc(socket.bytesWritten);
    });

    const { socketInterface, handoff } = this.context;
    Promise.resolve()
      .then(() => (handoff === 'duplicated' ? socketInterface.duplicated(socket) : socketInterface.accepted(socket)))
      .then(
        () => {
          if (socket.destroyed) return;
          if (filterChain.length === 0) return destroySocket(socketInterface, socket);
          for (const onNewConnection of filterChain) onNewConnection(socket);
        },
        (err: unknown) => {
          logger.warn(`listener '${this.name}': socket interface ${handoff} hook failed: ${String(err)}`);
          destroySocket(socketInterface, socket);
        },
      );
  }
}
