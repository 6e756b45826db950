import type { SocketInterface } from '../network/socket_interface';
import type { StatsStore } from '../stats/stats';
import type { ConfigIssue, TypedFactory } from './registry';

/** What a bootstrap extension gets when it is created (Envoy's ServerFactoryContext, trimmed). */
export interface ServerFactoryContext {
  readonly stats: StatsStore;
  /** True in a --concurrency worker process; the primary is false. */
  readonly isWorker: boolean;
}

export interface BootstrapExtension {
  /** Called once every bootstrap extension exists and before any listener opens. */
  onServerInitialized?(): void | Promise<void>;
  /** Called when the server stops. */
  shutdown?(): void | Promise<void>;
}

/** Envoy's Server::Configuration::BootstrapExtensionFactory. C is the decoded typed_config. */
export interface BootstrapExtensionFactory<C = unknown> extends TypedFactory {
  /** Semantic checks beyond the proto's validate rules; run by --mode validate too. */
  validateConfig?(config: C): ConfigIssue[];
  createBootstrapExtension(config: C, context: ServerFactoryContext): BootstrapExtension | Promise<BootstrapExtension>;
}

/** A bootstrap extension that provides a socket interface (Envoy's SocketInterfaceExtension). */
export interface SocketInterfaceExtension extends BootstrapExtension {
  readonly socketInterface: SocketInterface;
}

/** Envoy's SocketInterfaceFactory: a bootstrap extension factory whose extensions are socket interfaces. */
export interface SocketInterfaceFactory<C = unknown> extends BootstrapExtensionFactory<C> {
  readonly isSocketInterface: true;
  createBootstrapExtension(config: C, context: ServerFactoryContext): SocketInterfaceExtension | Promise<SocketInterfaceExtension>;
}

export function isSocketInterfaceFactory(factory: BootstrapExtensionFactory): factory is SocketInterfaceFactory {
  return (factory as Partial<SocketInterfaceFactory>).isSocketInterface === true;
}
