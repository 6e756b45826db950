// PLACEHOLDER owned by the server work: refine freely, keep the two exported names.
import type * as net from 'node:net';
import type { SocketInterface } from '../network/socket_interface';
import type { StatsStore } from '../stats/stats';

export interface ListenerFactoryContext {
  readonly listenerName: string;
  readonly socketInterface: SocketInterface;
  readonly stats: StatsStore;
}

/** Runs for each downstream connection once the socket interface has accepted it. */
export type NetworkFilterFactoryCb = (downstream: net.Socket) => void;
