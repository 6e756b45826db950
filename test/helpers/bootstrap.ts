// Builds ResolvedBootstrap objects for tests directly, with the real tcp_proxy factory and the
// default socket interface (no bootstrap loader). A ProxySpec is plain JSON so that worker
// processes (--concurrency tests) can rebuild the same bootstrap from a file.
import type { Bootstrap } from '../../src/generated/envoy/config/bootstrap/v3/bootstrap';
import type { Cluster } from '../../src/generated/envoy/config/cluster/v3/cluster';
import type { Listener } from '../../src/generated/envoy/config/listener/v3/listener';
import type { Duration } from '../../src/generated/google/protobuf/duration';
import { TcpProxyFilterFactory } from '../../src/extensions/filters/network/tcp_proxy/factory';
import type { BootstrapExtensionFactory } from '../../src/registry/bootstrap_extension';
import type { ResolvedBootstrap, ResolvedBootstrapExtension } from '../../src/server/resolved_bootstrap';
import { LOCALHOST } from './net';

export interface ListenerSpec {
  name: string;
  host?: string;
  port?: number;
  cluster: string;
  statPrefix?: string;
  idleTimeout?: Duration;
}

export interface ClusterSpec {
  name: string;
  endpoints: { host?: string; port: number }[];
  connectTimeout?: Duration;
}

export interface ProxySpec {
  listeners: ListenerSpec[];
  clusters: ClusterSpec[];
  /** Port of the admin listener on 127.0.0.1 (0 = ephemeral); no admin when unset. */
  adminPort?: number;
}

export interface ExtraExtensions {
  bootstrapExtensions?: { name: string; factory: BootstrapExtensionFactory; config?: unknown }[];
  defaultSocketInterface?: string;
}

export function seconds(value: number): Duration {
  const whole = Math.floor(value);
  return { seconds: whole, nanos: Math.round((value - whole) * 1e9) };
}

function socketAddress(host: string, port: number) {
  return { socket_address: { address: host, port_value: port, protocol: 0, resolver_name: '', ipv4_compat: false } };
}

function listenerProto(spec: ListenerSpec): Listener {
  const listener = {
    name: spec.name,
    address: socketAddress(spec.host ?? LOCALHOST, spec.port ?? 0),
    stat_prefix: '',
    filter_chains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy' }] }],
  };
  return listener as unknown as Listener;
}

function clusterProto(spec: ClusterSpec): Cluster {
  const cluster = {
    name: spec.name,
    type: 0,
    connect_timeout: spec.connectTimeout,
    lb_policy: 0,
    load_assignment: {
      cluster_name: spec.name,
      endpoints: [
        { lb_endpoints: spec.endpoints.map((e) => ({ endpoint: { address: socketAddress(e.host ?? LOCALHOST, e.port) } })) },
      ],
    },
  };
  return cluster as unknown as Cluster;
}

const tcpProxyFactory = new TcpProxyFilterFactory();

export function resolvedBootstrap(spec: ProxySpec, extra: ExtraExtensions = {}): ResolvedBootstrap {
  const listeners = spec.listeners.map(listenerProto);
  const clusters = spec.clusters.map(clusterProto);
  const bootstrapExtensions: ResolvedBootstrapExtension[] = (extra.bootstrapExtensions ?? []).map((e) => ({
    name: e.name,
    factory: e.factory,
    config: e.config ?? {},
  }));
  const bootstrap = {
    static_resources: { listeners, clusters, secrets: [] },
    admin: spec.adminPort === undefined ? undefined : { address: socketAddress(LOCALHOST, spec.adminPort) },
    bootstrap_extensions: bootstrapExtensions.map((e) => ({ name: e.name })),
    default_socket_interface: extra.defaultSocketInterface ?? '',
  } as unknown as Bootstrap;
  return {
    bootstrap,
    bootstrapExtensions,
    defaultSocketInterface: extra.defaultSocketInterface,
    listeners: spec.listeners.map((l, i) => ({
      listener: listeners[i] as Listener,
      filters: [
        {
          name: 'envoy.filters.network.tcp_proxy',
          factory: tcpProxyFactory,
          config: { stat_prefix: l.statPrefix ?? l.name, cluster: l.cluster, idle_timeout: l.idleTimeout, access_log: [], hash_policy: [] },
        },
      ],
    })),
    clusters,
  };
}
