// Fake factories in fresh registries: the real extensions are developed separately.
import { DefaultSocketInterface } from '../../src/network/socket_interface';
import type { BootstrapExtensionFactory, SocketInterfaceFactory } from '../../src/registry/bootstrap_extension';
import type { Registries } from '../../src/registry/factories';
import type { NetworkFilterFactory } from '../../src/registry/network_filter';
import { FactoryRegistry, type ConfigIssue } from '../../src/registry/registry';
import type { Sockmap } from '../../src/generated/envoy/extensions/network/socket_interface/sockmap/v3/sockmap';
import type { TcpProxy } from '../../src/generated/envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy';

export const SOCKMAP = 'envoy.extensions.network.socket_interface.sockmap';
export const SOCKMAP_TYPE = 'envoy.extensions.network.socket_interface.sockmap.v3.Sockmap';
export const DEFAULT_SI = 'envoy.extensions.network.socket_interface.default_socket_interface';
export const DEFAULT_SI_TYPE = 'envoy.extensions.network.socket_interface.v3.DefaultSocketInterface';
export const TCP_PROXY = 'envoy.filters.network.tcp_proxy';
export const TCP_PROXY_TYPE = 'envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';

function socketInterfaceFactory<C>(name: string, type: string, validateConfig?: (c: C) => ConfigIssue[]): SocketInterfaceFactory<C> {
  return {
    name,
    configTypes: [type],
    isSocketInterface: true,
    validateConfig,
    createBootstrapExtension: () => ({ socketInterface: new DefaultSocketInterface(name) }),
  };
}

export function fakeRegistries(): Registries {
  const bootstrapExtensions = new FactoryRegistry<BootstrapExtensionFactory>('envoy.bootstrap');
  const networkFilters = new FactoryRegistry<NetworkFilterFactory>('envoy.filters.network');
  bootstrapExtensions.register(
    socketInterfaceFactory<Sockmap>(SOCKMAP, SOCKMAP_TYPE, (c) =>
      c.accelerated_ports.flatMap((r, i) =>
        r.start < r.end ? [] : [{ path: `accelerated_ports[${i}]`, message: `empty range: start must be < end (got [${r.start}, ${r.end}))` }],
      ),
    ),
  );
  bootstrapExtensions.register(socketInterfaceFactory(DEFAULT_SI, DEFAULT_SI_TYPE));
  const tcpProxy: NetworkFilterFactory<TcpProxy> = {
    name: TCP_PROXY,
    configTypes: [TCP_PROXY_TYPE],
    validateConfig: (c, ctx) =>
      c.cluster !== undefined && !ctx.clusterNames.has(c.cluster) ? [{ path: 'cluster', message: `unknown cluster '${c.cluster}'` }] : [],
    createFilterFactory: () => () => undefined,
  };
  networkFilters.register(tcpProxy as NetworkFilterFactory);
  return { bootstrapExtensions, networkFilters };
}
