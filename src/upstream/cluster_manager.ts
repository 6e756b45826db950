import type { Cluster } from '../generated/envoy/config/cluster/v3/cluster';
import type { StatsStore } from '../stats/stats';
import { StaticCluster } from './cluster';

/** The clusters of static_resources by name (Envoy's ClusterManager, static only). */
export class ClusterManager {
  private readonly clusters = new Map<string, StaticCluster>();

  constructor(configs: readonly Cluster[], stats: StatsStore) {
    for (const config of configs) this.clusters.set(config.name, new StaticCluster(config, stats));
  }

  getCluster(name: string): StaticCluster | undefined {
    return this.clusters.get(name);
  }
}
