import type { Bootstrap } from '../generated/envoy/config/bootstrap/v3/bootstrap';
import type { Cluster } from '../generated/envoy/config/cluster/v3/cluster';
import type { Listener } from '../generated/envoy/config/listener/v3/listener';
import type { BootstrapExtensionFactory } from '../registry/bootstrap_extension';
import type { NetworkFilterFactory } from '../registry/network_filter';

/** A bootstrap extension with its factory and decoded typed_config. */
export interface ResolvedBootstrapExtension {
  name: string;
  factory: BootstrapExtensionFactory;
  config: unknown;
}

/** A network filter of a listener's filter chain with its factory and decoded typed_config. */
export interface ResolvedNetworkFilter {
  name: string;
  factory: NetworkFilterFactory;
  config: unknown;
}

export interface ResolvedListener {
  listener: Listener;
  filters: ResolvedNetworkFilter[];
}

/** A validated bootstrap whose typed_configs are resolved to factories (made by src/bootstrap). */
export interface ResolvedBootstrap {
  bootstrap: Bootstrap;
  bootstrapExtensions: ResolvedBootstrapExtension[];
  /** The name of the bootstrap extension to install as the socket interface, if any. */
  defaultSocketInterface: string | undefined;
  listeners: ResolvedListener[];
  clusters: Cluster[];
}
