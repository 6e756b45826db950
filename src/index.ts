/**
 * envoy-ts's programmatic API: register your own extensions, load a bootstrap, run the server.
 *
 *   import { registerSocketInterface, loadBootstrapFile, Server, registries } from 'envoy-ts';
 *   registerSocketInterface(new MySocketInterfaceFactory());
 *   const server = new Server(loadBootstrapFile('envoy.yaml'));
 *   await server.start();
 */
import { loadBootstrapFile as loadFile, loadBootstrapObject as loadObject, type ResolvedBootstrap } from './bootstrap';
import { registerBuiltinExtensions } from './extensions/builtin';
import type { BootstrapExtensionFactory, SocketInterfaceFactory } from './registry/bootstrap_extension';
import { registries, type Registries } from './registry/factories';
import type { NetworkFilterFactory } from './registry/network_filter';

export { BootstrapError } from './bootstrap/errors';
export type { ResolvedBootstrap } from './bootstrap';
export { getLogger, setLogLevel, type Logger, type LogLevel } from './common/logger';
export { registerBuiltinExtensions } from './extensions/builtin';
export { DefaultSocketInterface, socketFd, type SocketInterface } from './network/socket_interface';
export type {
  BootstrapExtension,
  BootstrapExtensionFactory,
  ServerFactoryContext,
  SocketInterfaceExtension,
  SocketInterfaceFactory,
} from './registry/bootstrap_extension';
export { registries, type Registries } from './registry/factories';
export type { NetworkFilterFactory, NetworkFilterValidationContext } from './registry/network_filter';
export { FactoryRegistry, RegistryError, type ConfigIssue, type TypedFactory } from './registry/registry';
export type { ListenerFactoryContext, NetworkFilterFactoryCb } from './server/filter_context';
export { Server, type ServerOptions } from './server/server';
export { StatsStore } from './stats/stats';

/** Registers a bootstrap extension factory (a socket interface factory is one). */
export function registerBootstrapExtension(factory: BootstrapExtensionFactory, target: Registries = registries): void {
  registerBuiltinExtensions(target);
  target.bootstrapExtensions.register(factory);
}

/** Registers a socket interface factory; select it with default_socket_interface. */
export function registerSocketInterface(factory: SocketInterfaceFactory, target: Registries = registries): void {
  registerBootstrapExtension(factory, target);
}

/** Registers a network filter factory, usable in filter_chains by its name and config type. */
export function registerNetworkFilter(factory: NetworkFilterFactory, target: Registries = registries): void {
  registerBuiltinExtensions(target);
  target.networkFilters.register(factory);
}

/** Loads and validates a bootstrap file (YAML or JSON); throws BootstrapError listing every problem. */
export function loadBootstrapFile(path: string, target: Registries = registries): ResolvedBootstrap {
  registerBuiltinExtensions(target);
  return loadFile(path, target);
}

/** Loads and validates a bootstrap given as an object (the YAML/JSON shape). */
export function loadBootstrapObject(bootstrap: unknown, target: Registries = registries): ResolvedBootstrap {
  registerBuiltinExtensions(target);
  return loadObject(bootstrap, target);
}
