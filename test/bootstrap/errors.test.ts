import * as path from 'node:path';
import { BootstrapError, loadBootstrapFile, loadBootstrapObject, parseBootstrap } from '../../src/bootstrap';
import { fakeRegistries, SOCKMAP } from './fakes';

const SOCKMAP_URL = 'type.googleapis.com/envoy.extensions.network.socket_interface.sockmap.v3.Sockmap';
const TCP_PROXY_URL = 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';

/** The issues a bootstrap object raises, as `path: message` lines. */
function errorsOf(obj: unknown): string[] {
  try {
    loadBootstrapObject(obj, fakeRegistries());
  } catch (err) {
    if (!(err instanceof BootstrapError)) throw err;
    const lines = err.issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message));
    expect(err.message).toBe(lines.join('\n'));
    return lines;
  }
  return [];
}

function sockmap(config: Record<string, unknown>): unknown {
  return {
    bootstrap_extensions: [{ name: SOCKMAP, typed_config: { '@type': SOCKMAP_URL, ...config } }],
    default_socket_interface: SOCKMAP,
  };
}

function socketAddress(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { socket_address: { address: '127.0.0.1', port_value: 10000, ...extra } };
}

function listener(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    address: socketAddress(),
    filter_chains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TCP_PROXY_URL, stat_prefix: 'tcp', cluster: 'backend' } }] }],
    ...extra,
  };
}

function cluster(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, connect_timeout: '1s', load_assignment: { cluster_name: name, endpoints: [] }, ...extra };
}

function withResources(listeners: unknown[], clusters: unknown[] = [cluster('backend')]): unknown {
  return { static_resources: { listeners, clusters } };
}

describe('bootstrap validation errors', () => {
  it('rejects an unknown field with its path', () => {
    expect(errorsOf(sockmap({ bpf_program_pth: '/x.o' }))).toEqual([
      'bootstrap_extensions[0].typed_config.bpf_program_pth: unknown field',
    ]);
  });

  const PORT = 'static_resources.listeners[0].address.socket_address';
  const TYPED = 'bootstrap_extensions[0].typed_config';
  const TCP = 'static_resources.listeners[0].filter_chains[0].filters[0].typed_config';
  const cases: Array<[string, unknown, string[]]> = [
    ['a wrong type', sockmap({ bpf_program_path: 5 }), [`${TYPED}.bpf_program_path: expected a string (got number 5)`]],
    ['a repeated field that is not an array', sockmap({ accelerated_ports: { start: 1, end: 2 } }),
      [`${TYPED}.accelerated_ports: expected an array (got an object)`]],
    ['an unknown @type', { bootstrap_extensions: [{ name: SOCKMAP, typed_config: { '@type': 'type.googleapis.com/foo.Bar' } }] },
      [`${TYPED}.@type: unknown type 'type.googleapis.com/foo.Bar'`]],
    ['a missing @type', { bootstrap_extensions: [{ name: SOCKMAP, typed_config: { bpf_program_path: '/x' } }] },
      [`${TYPED}.@type: is required`]],
    ['a missing required Any (typed_config)', { bootstrap_extensions: [{ name: SOCKMAP }] }, [`${TYPED}: is required`]],
    ['a missing required oneof (the port)', withResources([listener('l', { address: { socket_address: { address: '127.0.0.1' } } })]),
      [`${PORT}.port_specifier: one of port_value, named_port is required`]],
    ['a missing required string', withResources([listener('l', { address: { socket_address: { port_value: 1 } } })]),
      [`${PORT}.address: must not be empty`]],
    ['an out-of-range port', withResources([listener('l', { address: socketAddress({ port_value: 70000 }) })]),
      [`${PORT}.port_value: must be <= 65535 (got 70000)`]],
    ['a negative uint32', withResources([listener('l', { address: socketAddress({ port_value: -1 }) })]),
      [`${PORT}.port_value: must be >= 0 for uint32 (got -1)`]],
    ['an empty range (checked by the factory)', sockmap({ accelerated_ports: [{ start: 100, end: 100 }] }),
      [`${TYPED}.accelerated_ports[0]: empty range: start must be < end (got [100, 100))`]],
    ['duplicate listener and cluster names', withResources([listener('a'), listener('a')], [cluster('backend'), cluster('backend')]), [
      "static_resources.listeners[1].name: duplicate listener name 'a' (first used at index 0)",
      "static_resources.clusters[1].name: duplicate cluster name 'backend' (first used at index 0)",
    ]],
    ['an unknown cluster in tcp_proxy', withResources([listener('l')], [cluster('other')]), [`${TCP}.cluster: unknown cluster 'backend'`]],
    ['an unregistered default_socket_interface', { default_socket_interface: 'nope' },
      ["default_socket_interface: no socket interface named 'nope' is registered"]],
    ['a registered but unconfigured default_socket_interface', { default_socket_interface: SOCKMAP },
      [`default_socket_interface: socket interface '${SOCKMAP}' is registered but not configured in bootstrap_extensions`]],
    ['an unsupported field', withResources([listener('l', { per_connection_buffer_limit_bytes: 5 })]),
      ['static_resources.listeners[0].per_connection_buffer_limit_bytes: unsupported field (envoy-ts does not implement it)']],
    ['an unsupported oneof member', withResources([listener('l', { address: socketAddress({ named_port: 'x' }) })]),
      [`${PORT}.named_port: unsupported field (envoy-ts does not implement it)`]],
    ['sockhash_max_entries: 0', sockmap({ sockhash_max_entries: 0 }), [`${TYPED}.sockhash_max_entries: must be >= 1 (got 0)`]],
    ['129 accelerated_ports ranges', sockmap({ accelerated_ports: Array.from({ length: 129 }, (_, i) => ({ start: i + 1, end: i + 2 })) }),
      [`${TYPED}.accelerated_ports: must have at most 128 item(s) (got 129)`]],
    ['a cluster type other than STATIC', withResources([listener('l')], [cluster('backend', { type: 'STRICT_DNS' })]),
      ['static_resources.clusters[0].type: unsupported value STRICT_DNS (envoy-ts implements only STATIC)']],
    ['an lb_policy other than ROUND_ROBIN', withResources([listener('l')], [cluster('backend', { lb_policy: 'RANDOM' })]),
      ['static_resources.clusters[0].lb_policy: unsupported value RANDOM (envoy-ts implements only ROUND_ROBIN)']],
    ['an unknown enum name', withResources([listener('l')], [cluster('backend', { lb_policy: 'FOO' })]),
      ['static_resources.clusters[0].lb_policy: expected one of ROUND_ROBIN, LEAST_REQUEST, RING_HASH, RANDOM, MAGLEV, CLUSTER_PROVIDED, LOAD_BALANCING_POLICY_CONFIG (got "FOO")']],
    ['an undefined enum number (defined_only)', withResources([listener('l')], [cluster('backend', { lb_policy: 42 })]),
      ['static_resources.clusters[0].lb_policy: 42 is not a defined value of enum envoy.config.cluster.v3.Cluster.LbPolicy']],
    ['a UDP socket address', { admin: { address: socketAddress({ protocol: 'UDP' }) } },
      ['admin.address.socket_address.protocol: unsupported value UDP (envoy-ts implements only TCP)']],
    ['a hostname as listener address', withResources([listener('l', { address: { socket_address: { address: 'localhost', port_value: 1 } } })]),
      [`${PORT}.address: must be an IPv4 or IPv6 address, not a hostname (got 'localhost'): listeners bind to IP literals`]],
    ['a listener without address', withResources([{ name: 'x', filter_chains: listener('x').filter_chains }]),
      ['static_resources.listeners[0].address: is required (a static listener needs an address)']],
    ['a listener without filter chain', withResources([{ name: 'x', address: socketAddress() }]),
      ['static_resources.listeners[0].filter_chains: a listener needs a filter chain']],
    ['two members of one oneof', { node: { user_agent_version: '1', userAgentBuildVersion: {} } },
      ['node.user_agent_build_version: only one of user_agent_version and user_agent_build_version may be set (oneof user_agent_version_type)']],
    ['a Duration in another unit', withResources([listener('l')], [cluster('backend', { connect_timeout: '1h' })]),
      ['static_resources.clusters[0].connect_timeout: invalid duration "1h": expected seconds with up to 9 fractional digits and an \'s\' suffix, e.g. "0.25s"']],
    ['a Duration that breaks a gt rule', withResources([listener('l')], [cluster('backend', { connect_timeout: '0s' })]),
      ['static_resources.clusters[0].connect_timeout: must be > 0s (got 0s)']],
    ['a name set twice (snake_case and camelCase)', { default_socket_interface: '', defaultSocketInterface: '' },
      ["default_socket_interface: set twice (as 'default_socket_interface' and 'defaultSocketInterface')"]],
    ['a bootstrap extension named for another type',
      { bootstrap_extensions: [{ name: 'envoy.extensions.network.socket_interface.default_socket_interface', typed_config: { '@type': SOCKMAP_URL } }] },
      [`bootstrap_extensions[0].name: extension 'envoy.extensions.network.socket_interface.default_socket_interface' does not accept type 'envoy.extensions.network.socket_interface.sockmap.v3.Sockmap'; type 'envoy.extensions.network.socket_interface.sockmap.v3.Sockmap' is accepted by '${SOCKMAP}'`]],
    ['a bootstrap extension with an unregistered name', { bootstrap_extensions: [{ name: 'my.ext', typed_config: { '@type': SOCKMAP_URL } }] },
      [`bootstrap_extensions[0].name: no envoy.bootstrap extension named 'my.ext' is registered; type 'envoy.extensions.network.socket_interface.sockmap.v3.Sockmap' is accepted by '${SOCKMAP}'`]],
    ['a known type no factory of the category accepts', { bootstrap_extensions: [{ name: SOCKMAP, typed_config: { '@type': TCP_PROXY_URL, stat_prefix: 'x', cluster: 'c' } }] },
      [`${TYPED}.@type: no envoy.bootstrap extension accepts type 'envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy' ('${SOCKMAP}' accepts envoy.extensions.network.socket_interface.sockmap.v3.Sockmap)`]],
    ['tcp_proxy without stat_prefix (PGV min_len)', withResources([listener('l', { filter_chains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TCP_PROXY_URL, cluster: 'backend' } }] }] })]),
      [`${TCP}.stat_prefix: must not be empty`]],
    ['tcp_proxy without a cluster (required oneof)', withResources([listener('l', { filter_chains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TCP_PROXY_URL, stat_prefix: 'x' } }] }] })]),
      [`${TCP}.cluster_specifier: one of cluster, weighted_clusters is required`]],
    ['more than one filter chain', withResources([listener('l', { filter_chains: [...(listener('l').filter_chains as unknown[]), { filters: [] }] })]),
      ['static_resources.listeners[0].filter_chains[1]: unsupported: more than one filter chain (envoy-ts does not implement filter chain matching)']],
    ['a bootstrap that is not an object', [1, 2], ['expected an object for envoy.config.bootstrap.v3.Bootstrap (got an array)']],
  ];

  it.each(cases)('rejects %s', (_title, input, expected) => {
    expect(errorsOf(input)).toEqual(expected);
  });

  it('collects every problem at once', () => {
    const input = {
      ...(sockmap({ bpf_program_pth: '/x.o', sockhash_max_entries: 0 }) as object),
      static_resources: { listeners: [listener('a'), listener('a')], clusters: [] },
    };
    expect(errorsOf(input)).toEqual([
      `${TYPED}.bpf_program_pth: unknown field`,
      `${TYPED}.sockhash_max_entries: must be >= 1 (got 0)`,
      "static_resources.listeners[1].name: duplicate listener name 'a' (first used at index 0)",
      `${TCP}.cluster: unknown cluster 'backend'`,
      "static_resources.listeners[1].filter_chains[0].filters[0].typed_config.cluster: unknown cluster 'backend'",
    ]);
  });

  it('parseBootstrap checks the protos but not the registries', () => {
    expect(() => parseBootstrap({ default_socket_interface: 'nope' })).not.toThrow();
    expect(() => parseBootstrap({ node: { id: 'n', foo: 1 } })).toThrow('node.foo: unknown field');
  });

  it('names the file when it cannot be read or parsed', () => {
    const missing = path.join(__dirname, 'no-such-file.yaml');
    expect(() => loadBootstrapFile(missing, fakeRegistries())).toThrow(`cannot read bootstrap file '${missing}'`);
    const bad = path.join(__dirname, '..', 'fixtures', 'bootstrap', 'bad_syntax.yaml');
    let error: unknown;
    try {
      loadBootstrapFile(bad, fakeRegistries());
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(BootstrapError);
    expect((error as BootstrapError).message).toMatch(new RegExp(`^${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} at line \\d+, column \\d+: `));
  });
});
