import { DefaultSocketInterfaceFactory } from '../network/default_socket_interface_factory';
import { registries as globalRegistries, type Registries } from '../registry/factories';
import { TcpProxyFilterFactory } from './filters/network/tcp_proxy/factory';
import { loadDatapath } from './network/socket_interface/sockmap/build_variant';
import { SockmapSocketInterfaceFactory } from './network/socket_interface/sockmap/factory';

const registered = new WeakSet<Registries>();

/** Registers the built-in extensions once (Envoy registers its factories statically). */
export function registerBuiltinExtensions(registries: Registries = globalRegistries): void {
  if (registered.has(registries)) return;
  registered.add(registries);
  registries.bootstrapExtensions.register(new DefaultSocketInterfaceFactory());
  registries.bootstrapExtensions.register(new SockmapSocketInterfaceFactory(loadDatapath));
  registries.networkFilters.register(new TcpProxyFilterFactory());
}
