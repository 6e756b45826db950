/**
 * Factories by category, name and config type, as Envoy's registry (envoy/registry/registry.h).
 * A second registration of the same name or config type in a category is an error.
 */

/** What every extension factory declares about itself. */
export interface TypedFactory {
  /** Extension name, e.g. "envoy.filters.network.tcp_proxy". */
  readonly name: string;
  /** Fully-qualified proto message names of the configs it accepts. */
  readonly configTypes: readonly string[];
}

/** A problem found in a config, at a field path relative to the config the factory received. */
export interface ConfigIssue {
  path: string;
  message: string;
}

export class RegistryError extends Error {}

const TYPE_URL_PREFIX = 'type.googleapis.com/';

/** "type.googleapis.com/a.b.C" -> "a.b.C"; any prefix up to the last slash is dropped. */
export function typeNameFromUrl(typeUrl: string): string {
  const slash = typeUrl.lastIndexOf('/');
  return slash >= 0 ? typeUrl.slice(slash + 1) : typeUrl;
}

export function typeUrlFor(typeName: string): string {
  return TYPE_URL_PREFIX + typeName;
}

export class FactoryRegistry<F extends TypedFactory> {
  private readonly byName = new Map<string, F>();
  private readonly byType = new Map<string, F>();

  constructor(readonly category: string) {}

  register(factory: F): void {
    if (!factory.name) throw new RegistryError(`${this.category}: a factory must have a name`);
    if (this.byName.has(factory.name)) {
      throw new RegistryError(`${this.category}: a factory named '${factory.name}' is already registered`);
    }
    for (const type of factory.configTypes) {
      const holder = this.byType.get(type);
      if (holder) {
        throw new RegistryError(
          `${this.category}: config type '${type}' of '${factory.name}' is already registered by '${holder.name}'`,
        );
      }
    }
    this.byName.set(factory.name, factory);
    for (const type of factory.configTypes) this.byType.set(type, factory);
  }

  /** Removes a factory; returns whether it was there. For tests and embedders that re-register. */
  unregister(name: string): boolean {
    const factory = this.byName.get(name);
    if (!factory) return false;
    this.byName.delete(name);
    for (const type of factory.configTypes) this.byType.delete(type);
    return true;
  }

  getFactory(name: string): F | undefined {
    return this.byName.get(name);
  }

  /** Accepts a type URL or a bare message name. */
  getFactoryByType(typeUrlOrName: string): F | undefined {
    return this.byType.get(typeNameFromUrl(typeUrlOrName));
  }

  names(): string[] {
    return [...this.byName.keys()].sort();
  }
}
