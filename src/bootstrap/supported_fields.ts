/**
 * What envoy-ts implements of Envoy's messages. A message listed here may set only the listed
 * fields; any other field it sets is "unsupported" (known to Envoy, not implemented here), which
 * differs from "unknown" (not in the proto at all). Messages not listed are fully allowed.
 */

const ALL = '*';

export const SUPPORTED_FIELDS: Readonly<Record<string, readonly string[]>> = {
  // node is accepted and ignored.
  'envoy.config.bootstrap.v3.Bootstrap': ['static_resources', 'admin', 'bootstrap_extensions', 'default_socket_interface', 'node'],
  'envoy.config.bootstrap.v3.Bootstrap.StaticResources': ['listeners', 'clusters'],
  // access_log is accepted and ignored.
  'envoy.config.bootstrap.v3.Admin': ['address', 'access_log_path', 'access_log'],
  'envoy.config.listener.v3.Listener': ['name', 'address', 'filter_chains'],
  'envoy.config.listener.v3.FilterChain': ['filters'],
  'envoy.config.listener.v3.Filter': ['name', 'typed_config'],
  'envoy.config.cluster.v3.Cluster': ['name', 'type', 'connect_timeout', 'load_assignment', 'lb_policy'],
  'envoy.config.endpoint.v3.ClusterLoadAssignment': ['cluster_name', 'endpoints'],
  'envoy.config.endpoint.v3.LocalityLbEndpoints': ['lb_endpoints'],
  'envoy.config.endpoint.v3.LbEndpoint': ['endpoint'],
  'envoy.config.endpoint.v3.Endpoint': ['address'],
  'envoy.config.core.v3.Address': ['socket_address'],
  'envoy.config.core.v3.SocketAddress': ['protocol', 'address', 'port_value', 'ipv4_compat'],
  'envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy': ['stat_prefix', 'cluster', 'idle_timeout'],
  'envoy.config.core.v3.TypedExtensionConfig': ['name', 'typed_config'],
  'envoy.extensions.network.socket_interface.sockmap.v3.Sockmap': [ALL],
};

/** Enum fields of which only some values are implemented: message -> field -> value names. */
export const SUPPORTED_ENUM_VALUES: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>> = {
  'envoy.config.cluster.v3.Cluster': { type: ['STATIC'], lb_policy: ['ROUND_ROBIN'] },
  'envoy.config.core.v3.SocketAddress': { protocol: ['TCP'] },
};

export const UNSUPPORTED_FIELD = 'unsupported field (envoy-ts does not implement it)';

/** Why `field` of message `typeName` may not be set, or undefined when it may. */
export function unsupportedFieldReason(typeName: string, field: string): string | undefined {
  const allowed = SUPPORTED_FIELDS[typeName];
  if (!allowed || allowed.includes(ALL) || allowed.includes(field)) return undefined;
  return UNSUPPORTED_FIELD;
}

/** Why enum value `valueName` of `field` is not implemented, or undefined when it is. */
export function unsupportedEnumReason(typeName: string, field: string, valueName: string): string | undefined {
  const allowed = SUPPORTED_ENUM_VALUES[typeName]?.[field];
  if (!allowed || allowed.includes(valueName)) return undefined;
  return `unsupported value ${valueName} (envoy-ts implements only ${allowed.join('/')})`;
}
