import type { BootstrapExtensionFactory } from './bootstrap_extension';
import type { NetworkFilterFactory } from './network_filter';
import { FactoryRegistry } from './registry';

/** The process-wide registries, one per extension category (as Envoy's "envoy.bootstrap" etc.). */
export const bootstrapExtensionFactories = new FactoryRegistry<BootstrapExtensionFactory>('envoy.bootstrap');
export const networkFilterFactories = new FactoryRegistry<NetworkFilterFactory>('envoy.filters.network');

export interface Registries {
  readonly bootstrapExtensions: FactoryRegistry<BootstrapExtensionFactory>;
  readonly networkFilters: FactoryRegistry<NetworkFilterFactory>;
}

export const registries: Registries = {
  bootstrapExtensions: bootstrapExtensionFactories,
  networkFilters: networkFilterFactories,
};
