import type { TcpProxy } from '../../../../generated/envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy';
import { durationToMs } from '../../../../server/duration';
import type { Counter, StatsStore } from '../../../../stats/stats';

export const TCP_PROXY_FILTER_NAME = 'envoy.filters.network.tcp_proxy';
export const TCP_PROXY_CONFIG_TYPE = 'envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';

const DEFAULT_IDLE_TIMEOUT_MS = 60 * 60 * 1000;

/** The parts of TcpProxy that envoy-ts implements, with Envoy's defaults applied. */
export interface TcpProxyConfig {
  readonly statPrefix: string;
  readonly clusterName: string;
  /** 0 disables the idle timeout. */
  readonly idleTimeoutMs: number;
}

export function tcpProxyConfig(proto: TcpProxy): TcpProxyConfig {
  return {
    statPrefix: proto.stat_prefix,
    clusterName: proto.cluster ?? '',
    idleTimeoutMs: durationToMs(proto.idle_timeout, DEFAULT_IDLE_TIMEOUT_MS),
  };
}

/** Envoy's tcp_proxy stats ("tcp.<stat_prefix>.downstream_cx_total" ...). */
export interface TcpProxyStats {
  readonly downstream_cx_total: Counter;
  readonly downstream_cx_rx_bytes_total: Counter;
  readonly downstream_cx_tx_bytes_total: Counter;
  readonly idle_timeout: Counter;
}

export function tcpProxyStats(stats: StatsStore, statPrefix: string): TcpProxyStats {
  const prefix = `tcp.${statPrefix}.`;
  return {
    downstream_cx_total: stats.counter(`${prefix}downstream_cx_total`),
    downstream_cx_rx_bytes_total: stats.counter(`${prefix}downstream_cx_rx_bytes_total`),
    downstream_cx_tx_bytes_total: stats.counter(`${prefix}downstream_cx_tx_bytes_total`),
    idle_timeout: stats.counter(`${prefix}idle_timeout`),
  };
}
