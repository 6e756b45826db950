import type { Bootstrap } from '../generated/envoy/config/bootstrap/v3/bootstrap';
import type { Cluster } from '../generated/envoy/config/cluster/v3/cluster';
import type { Listener } from '../generated/envoy/config/listener/v3/listener';
import type { BootstrapExtensionFactory } from '../registry/bootstrap_extension';
import type { NetworkFilterFactory } from '../registry/network_filter';

/** A bootstrap extension with its factory and decoded typed_config. */
export interface ResolvedBootstrapExtension {
  readonly name: string;
  readonly factory: BootstrapExtensionFactory;
  readonly config: unknown;
}

/** A network filter of a listener's filter chain with its factory and decoded typed_config. */
export interface ResolvedNetworkFilter {
  readonly name: string;
  readonly factory: NetworkFilterFactory;
  readonly config: unknown;
}

export interface ResolvedListener {
  readonly listener: Listener;
  readonly filters: ResolvedNetworkFilter[];
}

/** A validated bootstrap whose typed_configs are resolved to factories (made by src/bootstrap). */
export interface ResolvedBootstrap {
  readonly bootstrap: Bootstrap;
  readonly bootstrapExtensions: ResolvedBootstrapExtension[];
  /** The name of the bootstrap extension to install as the socket interface, if any. */
  readonly defaultSocketInterface: string | undefined;
  readonly listeners: ResolvedListener[];
  readonly clusters: Cluster[];
}
