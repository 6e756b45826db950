import type * as net from 'node:net';
import type { StatValue } from '../stats/stats';

/** The env var that marks a process as envoy-ts worker <index> (set by the primary when forking). */
export const WORKER_INDEX_ENV = 'ENVOY_TS_WORKER_INDEX';
/**
 * Set by the primary to 'duplicated' or 'accepted': how the worker gets its sockets (see
 * workerHandoff in worker_pool.ts). A worker cannot read the primary's cluster.schedulingPolicy.
 */
export const WORKER_HANDOFF_ENV = 'ENVOY_TS_WORKER_HANDOFF';

export interface BoundListener {
  readonly name: string;
  readonly address: net.AddressInfo;
}

/** Worker -> primary. */
export type WorkerMessage =
  | { type: 'envoy-ts:ready'; listeners: BoundListener[] }
  | { type: 'envoy-ts:start-failed'; error: string }
  | { type: 'envoy-ts:stats'; requestId: number; stats: StatValue[] };

/** Primary -> worker. */
export type PrimaryMessage = { type: 'envoy-ts:get-stats'; requestId: number } | { type: 'envoy-ts:shutdown' };

function hasType(message: unknown): message is { type: string } {
  return typeof message === 'object' && message !== null && typeof (message as { type?: unknown }).type === 'string';
}

export function isWorkerMessage(message: unknown): message is WorkerMessage {
  return hasType(message) && ['envoy-ts:ready', 'envoy-ts:start-failed', 'envoy-ts:stats'].includes(message.type);
}

export function isPrimaryMessage(message: unknown): message is PrimaryMessage {
  return hasType(message) && ['envoy-ts:get-stats', 'envoy-ts:shutdown'].includes(message.type);
}
