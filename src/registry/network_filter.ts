import type { ListenerFactoryContext, NetworkFilterFactoryCb } from '../server/filter_context';
import type { ConfigIssue, TypedFactory } from './registry';

/** What a network filter's config may be checked against while the bootstrap is validated. */
export interface NetworkFilterValidationContext {
  readonly clusterNames: ReadonlySet<string>;
}

/** Envoy's NamedNetworkFilterConfigFactory. C is the decoded typed_config. */
export interface NetworkFilterFactory<C = unknown> extends TypedFactory {
  /** Semantic checks beyond the proto's validate rules (e.g. the cluster exists). */
  validateConfig?(config: C, context: NetworkFilterValidationContext): ConfigIssue[];
  createFilterFactory(config: C, context: ListenerFactoryContext): NetworkFilterFactoryCb;
}
