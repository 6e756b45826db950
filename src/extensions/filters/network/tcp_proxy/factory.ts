import { getLogger } from '../../../../common/logger';
import type { TcpProxy } from '../../../../generated/envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy';
import type { NetworkFilterFactory, NetworkFilterValidationContext } from '../../../../registry/network_filter';
import type { ConfigIssue } from '../../../../registry/registry';
import type { ListenerFactoryContext, NetworkFilterFactoryCb } from '../../../../server/filter_context';
import { TCP_PROXY_CONFIG_TYPE, TCP_PROXY_FILTER_NAME, tcpProxyConfig, tcpProxyStats } from './config';
import { TcpProxySession } from './tcp_proxy';

/** The tcp_proxy network filter factory (Envoy's ConfigFactory for envoy.filters.network.tcp_proxy). */
export class TcpProxyFilterFactory implements NetworkFilterFactory<TcpProxy> {
  readonly name = TCP_PROXY_FILTER_NAME;
  readonly configTypes = [TCP_PROXY_CONFIG_TYPE];

  validateConfig(config: TcpProxy, context: NetworkFilterValidationContext): ConfigIssue[] {
    const cluster = config.cluster;
    if (!cluster) return [{ path: 'cluster', message: 'a cluster is required (weighted_clusters is not supported)' }];
    if (!context.clusterNames.has(cluster)) {
      return [{ path: 'cluster', message: `cluster '${cluster}' is not defined in static_resources.clusters` }];
    }
    return [];
  }

  createFilterFactory(proto: TcpProxy, context: ListenerFactoryContext): NetworkFilterFactoryCb {
    const config = tcpProxyConfig(proto);
    const cluster = context.clusterManager.getCluster(config.clusterName);
    if (!cluster) throw new Error(`tcp_proxy: cluster '${config.clusterName}' is not defined in static_resources.clusters`);
    const stats = tcpProxyStats(context.stats, config.statPrefix);
    const logger = getLogger('tcp_proxy');
    return (downstream) =>
      new TcpProxySession(downstream, config, cluster, context.socketInterface, stats, logger).start();
  }
}
