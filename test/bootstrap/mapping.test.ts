import { BootstrapError, parseBootstrap, unpackAny } from '../../src/bootstrap';
import type { Node } from '../../src/generated/envoy/config/core/v3/base';
import type { Sockmap } from '../../src/generated/envoy/extensions/network/socket_interface/sockmap/v3/sockmap';

const SOCKMAP_URL = 'type.googleapis.com/envoy.extensions.network.socket_interface.sockmap.v3.Sockmap';

function sockmapConfig(config: Record<string, unknown>): Sockmap {
  const b = parseBootstrap({ bootstrap_extensions: [{ name: 'x', typed_config: { '@type': SOCKMAP_URL, ...config } }] });
  return unpackAny<Sockmap>(b.bootstrap_extensions[0].typed_config!);
}

function issues(obj: unknown): string[] {
  try {
    parseBootstrap(obj);
    return [];
  } catch (err) {
    if (!(err instanceof BootstrapError)) throw err;
    return err.message.split('\n');
  }
}

describe('proto3 JSON mapping', () => {
  it('takes wrappers as plain values and fills proto3 defaults', () => {
    expect(sockmapConfig({ sockhashMaxEntries: 10, register_user_space_sockets: true })).toEqual<Sockmap>({
      bpf_program_path: '', cgroup_path: '', sockhash_max_entries: 10, register_user_space_sockets: true, accelerated_ports: [], pin_path: '',
    });
    expect(issues({ bootstrap_extensions: [{ name: 'x', typed_config: { '@type': SOCKMAP_URL, sockhash_max_entries: { value: 3 } } }] }))
      .toEqual(['bootstrap_extensions[0].typed_config.sockhash_max_entries: expected an integer (got an object)']);
  });

  it('takes int64 as numbers or decimal strings', () => {
    expect(sockmapConfig({ accelerated_ports: [{ start: '1', end: 2 }] }).accelerated_ports).toEqual([{ start: 1, end: 2 }]);
    expect(issues({ bootstrap_extensions: [{ name: 'x', typed_config: { '@type': SOCKMAP_URL, accelerated_ports: [{ start: '1.5' }] } }] }))
      .toEqual(['bootstrap_extensions[0].typed_config.accelerated_ports[0].start: expected an integer (got "1.5")']);
  });

  it.each([
    ['0.25s', { seconds: 0, nanos: 250_000_000 }],
    ['1s', { seconds: 1, nanos: 0 }],
    ['3600s', { seconds: 3600, nanos: 0 }],
    ['1.000000001s', { seconds: 1, nanos: 1 }],
    [{ seconds: 2, nanos: 5 }, { seconds: 2, nanos: 5 }],
  ])('reads the Duration %j', (json, expected) => {
    const b = parseBootstrap({ static_resources: { clusters: [{ name: 'c', connect_timeout: json }] } });
    expect(b.static_resources?.clusters[0].connect_timeout).toEqual(expected);
  });

  it.each(['1h', '250ms', '0.25', '1.0000000001s', 's', 5])('rejects the Duration %j', (json) => {
    const [line] = issues({ static_resources: { clusters: [{ name: 'c', connect_timeout: json }] } });
    expect(line).toMatch(/^static_resources\.clusters\[0\]\.connect_timeout: (invalid duration|expected an object)/);
  });

  it('reads enums by name or number, Struct as plain JSON, maps, bools and nulls as unset', () => {
    const b = parseBootstrap({
      node: { id: 'n', metadata: { a: [1, 'x', null, { b: true }] }, locality: null },
      static_resources: { clusters: [{ name: 'c', type: 0, lbPolicy: 'ROUND_ROBIN' }] },
    });
    const node = b.node as Node;
    expect(node.metadata).toEqual({ a: [1, 'x', null, { b: true }] });
    expect(node.locality).toBeUndefined();
    expect(b.static_resources?.clusters[0]).toMatchObject({ type: 0, lb_policy: 0, respect_dns_ttl: false, typed_extension_protocol_options: {}, health_checks: [] });
    expect(issues({ node: { id: 'n', cluster: 'c', user_agent_name: 'x', extensions: {} } }))
      .toEqual(['node.extensions: expected an array (got an object)']);
  });

  it('rejects a non-boolean for bool and a non-object for a message', () => {
    expect(issues({ static_resources: { clusters: [{ name: 'c', respect_dns_ttl: 'yes' }] } }))
      .toEqual(['static_resources.clusters[0].respect_dns_ttl: unsupported field (envoy-ts does not implement it)']);
    expect(issues({ node: { id: 'n', locality: 'x' } }))
      .toEqual(['node.locality: expected an object for envoy.config.core.v3.Locality (got "x")']);
    expect(issues({ static_resources: { listeners: [{ name: 'l', address: { socket_address: { address: '::1', port_value: 1, ipv4_compat: 1 } } }] } }))
      .toEqual(['static_resources.listeners[0].address.socket_address.ipv4_compat: expected true or false (got number 1)']);
  });

  it('walks Any inside Any-bearing messages with the right paths', () => {
    expect(issues({ bootstrap_extensions: [{ name: 'x', typed_config: { '@type': SOCKMAP_URL, accelerated_ports: [{}, { start: 1, bogus: 2 }] } }] }))
      .toEqual(['bootstrap_extensions[0].typed_config.accelerated_ports[1].bogus: unknown field']);
  });
});
