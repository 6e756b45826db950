/**
 * The registry phase: every typed_config is resolved by its @type against the factories of its
 * category (as Envoy does), the entry's `name` must be that factory's, and the factory's own
 * validateConfig runs on the unpacked config.
 */
import type { Bootstrap } from '../generated/envoy/config/bootstrap/v3/bootstrap';
import type { Cluster } from '../generated/envoy/config/cluster/v3/cluster';
import type { Listener } from '../generated/envoy/config/listener/v3/listener';
import type { Any } from '../generated/google/protobuf/any';
import { unpackAny } from '../protos/any';
import { isSocketInterfaceFactory, type BootstrapExtensionFactory } from '../registry/bootstrap_extension';
import type { Registries } from '../registry/factories';
import type { NetworkFilterFactory } from '../registry/network_filter';
import { typeNameFromUrl, type ConfigIssue, type FactoryRegistry, type TypedFactory } from '../registry/registry';
import { BootstrapError, prefixIssues } from './errors';

export interface ResolvedExtension<F extends TypedFactory> {
  readonly name: string;
  readonly factory: F;
  /** The unpacked typed_config, in ts-proto shape. */
  readonly config: unknown;
}

export interface ResolvedListener {
  readonly listener: Listener;
  /** The network filters of the (only) filter chain, in order. */
  readonly filters: ResolvedExtension<NetworkFilterFactory>[];
}

export interface ResolvedBootstrap {
  readonly bootstrap: Bootstrap;
  readonly bootstrapExtensions: ResolvedExtension<BootstrapExtensionFactory>[];
  /** The bootstrap's default_socket_interface, or undefined when empty. */
  readonly defaultSocketInterface: string | undefined;
  readonly listeners: ResolvedListener[];
  readonly clusters: Cluster[];
}

function resolveEntry<F extends TypedFactory>(
  registry: FactoryRegistry<F>, name: string, typedConfig: Any | undefined, path: string,
  validate: (factory: F, config: unknown) => ConfigIssue[], issues: ConfigIssue[],
): ResolvedExtension<F> | undefined {
  if (!typedConfig) {
    issues.push({ path: `${path}.typed_config`, message: 'is required' });
    return undefined;
  }
  const typeName = typeNameFromUrl(typedConfig.type_url);
  const byName = registry.getFactory(name);
  const factory = registry.getFactoryByType(typedConfig.type_url);
  if (!factory) {
    const accepts = byName ? ` ('${name}' accepts ${byName.configTypes.join(', ')})` : '';
    issues.push({ path: `${path}.typed_config.@type`, message: `no ${registry.category} extension accepts type '${typeName}'${accepts}` });
    return undefined;
  }
  if (factory.name !== name) {
    const why = byName ? `extension '${name}' does not accept type '${typeName}'` : `no ${registry.category} extension named '${name}' is registered`;
    issues.push({ path: `${path}.name`, message: `${why}; type '${typeName}' is accepted by '${factory.name}'` });
    return undefined;
  }
  const config = unpackAny<unknown>(typedConfig);
  const found = validate(factory, config);
  issues.push(...prefixIssues(`${path}.typed_config`, found));
  return found.length ? undefined : { name, factory, config };
}

function checkDefaultSocketInterface(
  bootstrap: Bootstrap, registries: Registries, resolved: ResolvedExtension<BootstrapExtensionFactory>[], issues: ConfigIssue[],
): void {
  const name = bootstrap.default_socket_interface;
  if (!name) return;
  const push = (message: string) => issues.push({ path: 'default_socket_interface', message });
  const configured = resolved.find((e) => e.name === name);
  if (configured) {
    if (!isSocketInterfaceFactory(configured.factory)) push(`'${name}' is not a socket interface`);
    return;
  }
  // An entry that failed to resolve has its own error already.
  if (bootstrap.bootstrap_extensions.some((e) => e.name === name)) return;
  const factory = registries.bootstrapExtensions.getFactory(name);
  if (!factory) push(`no socket interface named '${name}' is registered`);
  else if (!isSocketInterfaceFactory(factory)) push(`'${name}' is not a socket interface`);
  else push(`socket interface '${name}' is registered but not configured in bootstrap_extensions`);
}

/**
 * Resolves a parsed bootstrap against the registries. `known` are issues already found while
 * parsing: entries under their paths are skipped, and they are thrown together with any new ones.
 */
export function resolveBootstrap(bootstrap: Bootstrap, registries: Registries, known: readonly ConfigIssue[] = []): ResolvedBootstrap {
  const issues: ConfigIssue[] = [...known];
  const broken = (path: string) => known.some((i) => i.path === path || i.path.startsWith(`${path}.`) || i.path.startsWith(`${path}[`));

  const bootstrapExtensions: ResolvedExtension<BootstrapExtensionFactory>[] = [];
  bootstrap.bootstrap_extensions.forEach((ext, i) => {
    const path = `bootstrap_extensions[${i}]`;
    if (broken(path)) return;
    const r = resolveEntry(registries.bootstrapExtensions, ext.name, ext.typed_config, path, (f, c) => f.validateConfig?.(c) ?? [], issues);
    if (r) bootstrapExtensions.push(r);
  });
  checkDefaultSocketInterface(bootstrap, registries, bootstrapExtensions, issues);

  const clusters = bootstrap.static_resources?.clusters ?? [];
  const clusterNames: ReadonlySet<string> = new Set(clusters.map((c) => c.name));
  const listeners: ResolvedListener[] = (bootstrap.static_resources?.listeners ?? []).map((listener, i) => {
    const path = `static_resources.listeners[${i}].filter_chains`;
    const filters: ResolvedExtension<NetworkFilterFactory>[] = [];
    if (listener.filter_chains.length === 0 && !broken(path)) issues.push({ path, message: 'a listener needs a filter chain' });
    if (listener.filter_chains.length > 1) {
      issues.push({ path: `${path}[1]`, message: 'unsupported: more than one filter chain (envoy-ts does not implement filter chain matching)' });
    }
    listener.filter_chains[0]?.filters.forEach((filter, k) => {
      const p = `${path}[0].filters[${k}]`;
      if (broken(p)) return;
      const r = resolveEntry(registries.networkFilters, filter.name, filter.typed_config, p, (f, c) => f.validateConfig?.(c, { clusterNames }) ?? [], issues);
      if (r) filters.push(r);
    });
    return { listener, filters };
  });

  if (issues.length) throw new BootstrapError(issues);
  return { bootstrap, bootstrapExtensions, defaultSocketInterface: bootstrap.default_socket_interface || undefined, listeners, clusters };
}
