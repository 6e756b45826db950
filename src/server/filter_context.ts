import type * as net from 'node:net';
import type { SocketInterface } from '../network/socket_interface';
import type { StatsStore } from '../stats/stats';
import type { ClusterManager } from '../upstream/cluster_manager';

/** What a network filter factory gets when a listener's filter chain is built (Envoy's FactoryContext). */
export interface ListenerFactoryContext {
  readonly listenerName: string;
  readonly socketInterface: SocketInterface;
  readonly stats: StatsStore;
  readonly clusterManager: ClusterManager;
}

/**
 * Runs for each downstream connection once the socket interface has accepted it. The socket is
 * paused; the filter owns its data and must call socketInterface.closing() before closing it
 * (see closeSocket in socket_close.ts).
 */
export type NetworkFilterFactoryCb = (downstream: net.Socket) => void;
