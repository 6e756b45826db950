import type { Logger } from '../../../../common/logger';
import type { Counter, StatsStore } from '../../../../stats/stats';
import type { SockmapDatapath } from './datapath_types';

const MAP_FULL_LOG_INTERVAL_MS = 10_000;

/** User-space sockmap counters (`sockmap.*`), and the kernel's through a stats provider. */
export class SockmapStats {
  readonly registered: Counter;
  readonly unregistered: Counter;
  readonly registrationFailed: Counter;
  readonly mapFull: Counter;
  readonly notIpv4: Counter;
  readonly skippedNoPeer: Counter;
  readonly notEstablished: Counter;
  readonly peerWaits: Counter;
  readonly peerWaitTimeouts: Counter;
  readonly pressure: Counter;
  private lastMapFullLog = 0;
  private mapFullSinceLog = 0;

  constructor(store: StatsStore) {
    const c = (name: string) => store.counter(`sockmap.${name}`);
    this.registered = c('registered');
    this.unregistered = c('unregistered');
    this.registrationFailed = c('registration_failed');
    this.mapFull = c('map_full');
    this.notIpv4 = c('skipped_not_ipv4');
    this.skippedNoPeer = c('skipped_upstream_no_peer');
    this.notEstablished = c('skipped_not_established');
    this.peerWaits = c('peer_wait_total');
    this.peerWaitTimeouts = c('peer_wait_timeout');
    this.pressure = c('pressure_fallback');
  }

  /** The kernel counters are per host (shared maps), so only one process of a group reports them. */
  static addKernelCounters(store: StatsStore, datapath: SockmapDatapath): void {
    store.addProvider(() =>
      Object.entries(datapath.counters()).map(([name, value]) => ({ name: `sockmap.kernel.${name}`, kind: 'counter' as const, value })),
    );
  }

  /** Logs a full sockhash at most once per interval, with how many sockets it turned away. */
  logMapFull(logger: Logger): void {
    this.mapFullSinceLog++;
    const now = Date.now();
    if (now - this.lastMapFullLog < MAP_FULL_LOG_INTERVAL_MS) return;
    logger.warn(
      `sockhash is full (sockhash_max_entries): ${this.mapFullSinceLog} socket(s) stay on the standard datapath`,
    );
    this.lastMapFullLog = now;
    this.mapFullSinceLog = 0;
  }
}
