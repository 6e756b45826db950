import type { Cluster } from '../generated/envoy/config/cluster/v3/cluster';
import { durationToMs } from '../server/duration';
import type { Counter, Gauge, StatsStore } from '../stats/stats';
import { RoundRobinLoadBalancer } from './round_robin_lb';

/** An upstream endpoint. */
export interface Host {
  readonly host: string;
  readonly port: number;
}

/** Envoy's cluster stats ("cluster.<name>.upstream_cx_total" ...). */
export interface ClusterStats {
  readonly upstream_cx_total: Counter;
  readonly upstream_cx_active: Gauge;
  readonly upstream_cx_connect_fail: Counter;
  readonly upstream_cx_connect_timeout: Counter;
  readonly upstream_cx_none_healthy: Counter;
  readonly upstream_cx_tx_bytes_total: Counter;
  readonly upstream_cx_rx_bytes_total: Counter;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 5000;

function clusterStats(stats: StatsStore, name: string): ClusterStats {
  const prefix = `cluster.${name}.`;
  return {
    upstream_cx_total: stats.counter(`${prefix}upstream_cx_total`),
    upstream_cx_active: stats.gauge(`${prefix}upstream_cx_active`),
    upstream_cx_connect_fail: stats.counter(`${prefix}upstream_cx_connect_fail`),
    upstream_cx_connect_timeout: stats.counter(`${prefix}upstream_cx_connect_timeout`),
    upstream_cx_none_healthy: stats.counter(`${prefix}upstream_cx_none_healthy`),
    upstream_cx_tx_bytes_total: stats.counter(`${prefix}upstream_cx_tx_bytes_total`),
    upstream_cx_rx_bytes_total: stats.counter(`${prefix}upstream_cx_rx_bytes_total`),
  };
}

/** The endpoints of a STATIC cluster's load_assignment, in order. */
export function staticHosts(cluster: Cluster): Host[] {
  const hosts: Host[] = [];
  for (const locality of cluster.load_assignment?.endpoints ?? []) {
    for (const lbEndpoint of locality.lb_endpoints) {
      const address = lbEndpoint.endpoint?.address?.socket_address;
      if (address?.port_value !== undefined) hosts.push({ host: address.address, port: address.port_value });
    }
  }
  return hosts;
}

/** A STATIC cluster: fixed hosts, round robin, connect_timeout (Envoy's default 5s). */
export class StaticCluster {
  readonly name: string;
  readonly connectTimeoutMs: number;
  readonly stats: ClusterStats;
  private readonly loadBalancer: RoundRobinLoadBalancer<Host>;

  constructor(config: Cluster, stats: StatsStore) {
    this.name = config.name;
    this.connectTimeoutMs = durationToMs(config.connect_timeout, DEFAULT_CONNECT_TIMEOUT_MS);
    this.stats = clusterStats(stats, config.name);
    this.loadBalancer = new RoundRobinLoadBalancer(staticHosts(config));
  }

  chooseHost(): Host | undefined {
    return this.loadBalancer.chooseHost();
  }
}
