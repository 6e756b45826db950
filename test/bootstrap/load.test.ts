import * as path from 'node:path';
import { BootstrapError, loadBootstrapFile, loadBootstrapObject, parseBootstrap, unpackAny } from '../../src/bootstrap';
import type { Sockmap } from '../../src/generated/envoy/extensions/network/socket_interface/sockmap/v3/sockmap';
import type { TcpProxy } from '../../src/generated/envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy';
import { fakeRegistries, SOCKMAP, TCP_PROXY } from './fakes';

const fixture = (name: string) => path.join(__dirname, '..', 'fixtures', 'bootstrap', name);

describe('loading a bootstrap', () => {
  it('loads the spec example (YAML) with a listener, tcp_proxy and a STATIC cluster', () => {
    const resolved = loadBootstrapFile(fixture('spec_example.yaml'), fakeRegistries());
    expect(resolved.defaultSocketInterface).toBe(SOCKMAP);
    expect(resolved.bootstrapExtensions).toHaveLength(1);
    const [ext] = resolved.bootstrapExtensions;
    expect(ext.name).toBe(SOCKMAP);
    expect(ext.factory.name).toBe(SOCKMAP);
    expect(ext.config).toEqual<Sockmap>({
      bpf_program_path: '/etc/envoy/sockmap_kern.o',
      cgroup_path: '',
      sockhash_max_entries: undefined,
      register_user_space_sockets: undefined,
      accelerated_ports: [],
      pin_path: '',
    });
    const [listener] = resolved.listeners;
    expect(listener.listener.name).toBe('ingress');
    expect(listener.listener.address?.socket_address).toMatchObject({ address: '127.0.0.1', port_value: 10000, protocol: 0 });
    expect(listener.filters.map((f) => f.factory.name)).toEqual([TCP_PROXY]);
    const tcp = listener.filters[0].config as TcpProxy;
    expect(tcp.stat_prefix).toBe('ingress_tcp');
    expect(tcp.cluster).toBe('backend');
    expect(tcp.idle_timeout).toEqual({ seconds: 0, nanos: 250_000_000 });
    expect(tcp.max_connect_attempts).toBeUndefined();
    expect(tcp.access_log).toEqual([]);
    expect(tcp).not.toHaveProperty('weighted_clusters');
    const [cluster] = resolved.clusters;
    expect(cluster.name).toBe('backend');
    expect(cluster.type).toBe(0); // STATIC
    expect(cluster.connect_timeout).toEqual({ seconds: 1, nanos: 0 });
    expect(cluster.load_assignment?.endpoints[0].lb_endpoints[0].endpoint?.address?.socket_address?.port_value).toBe(10001);
    expect(resolved.bootstrap.admin?.address?.socket_address?.port_value).toBe(9901);
  });

  it('loads the issue example verbatim and rejects it with a typo, naming the path', () => {
    const resolved = loadBootstrapFile(fixture('spec_issue_example.yaml'), fakeRegistries());
    expect(resolved.bootstrapExtensions.map((e) => e.name)).toEqual([SOCKMAP]);
    expect(resolved.defaultSocketInterface).toBe(SOCKMAP);
    expect(() => loadBootstrapFile(fixture('invalid_typo.yaml'), fakeRegistries())).toThrow(
      new BootstrapError([{ path: 'bootstrap_extensions[0].typed_config.bpf_program_pth', message: 'unknown field' }]),
    );
  });

  it('loads JSON with lowerCamelCase names, wrappers, int64 strings and Duration objects', () => {
    const resolved = loadBootstrapFile(fixture('spec_example.json'), fakeRegistries());
    expect(resolved.bootstrapExtensions[0].config).toMatchObject<Partial<Sockmap>>({
      sockhash_max_entries: 1024,
      register_user_space_sockets: false,
      accelerated_ports: [{ start: 10000, end: 10002 }],
    });
    const tcp = resolved.listeners[0].filters[0].config as TcpProxy;
    expect(tcp.idle_timeout).toEqual({ seconds: 3600, nanos: 0 });
    expect(resolved.clusters[0].connect_timeout).toEqual({ seconds: 0, nanos: 500_000_000 });
    expect(resolved.listeners[0].listener.address?.socket_address?.address).toBe('::1');
  });

  it('keeps typed_config as an Any that unpackAny decodes into the ts-proto shape', () => {
    const bootstrap = parseBootstrap({
      bootstrap_extensions: [{
        name: SOCKMAP,
        typed_config: {
          '@type': 'type.googleapis.com/envoy.extensions.network.socket_interface.sockmap.v3.Sockmap',
          sockhash_max_entries: 7,
          pin_path: '/sys/fs/bpf/x',
        },
      }],
    });
    const any = bootstrap.bootstrap_extensions[0].typed_config!;
    expect(any.type_url).toBe('type.googleapis.com/envoy.extensions.network.socket_interface.sockmap.v3.Sockmap');
    expect(any.value).toBeInstanceOf(Uint8Array);
    expect(unpackAny<Sockmap>(any)).toMatchObject({ sockhash_max_entries: 7, pin_path: '/sys/fs/bpf/x', register_user_space_sockets: undefined });
    expect(bootstrap.default_socket_interface).toBe('');
    expect(bootstrap.static_resources).toBeUndefined();
  });

  it('loads an object and accepts the default socket interface', () => {
    const resolved = loadBootstrapObject({
      bootstrap_extensions: [{
        name: 'envoy.extensions.network.socket_interface.default_socket_interface',
        typed_config: { '@type': 'type.googleapis.com/envoy.extensions.network.socket_interface.v3.DefaultSocketInterface' },
      }],
      default_socket_interface: 'envoy.extensions.network.socket_interface.default_socket_interface',
    }, fakeRegistries());
    expect(resolved.defaultSocketInterface).toBe('envoy.extensions.network.socket_interface.default_socket_interface');
    expect(resolved.listeners).toEqual([]);
  });
});
