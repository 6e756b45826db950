/** Loading an Envoy v3 bootstrap: YAML/JSON -> validated Bootstrap -> factories resolved. */
import type { Bootstrap } from '../generated/envoy/config/bootstrap/v3/bootstrap';
import type { Registries } from '../registry/factories';
import { parseBootstrapLenient } from './parse';
import { resolveBootstrap, type ResolvedBootstrap } from './resolve';
import { readBootstrapFile } from './source';
import { BootstrapError } from './errors';

export { BootstrapError, type ConfigIssue } from './errors';
export { parseBootstrap } from './parse';
export { resolveBootstrap, type ResolvedBootstrap, type ResolvedExtension, type ResolvedListener } from './resolve';
export { unpackAny } from '../protos/any';
export type { Bootstrap };

/** Validates and resolves a bootstrap object; throws BootstrapError listing every problem. */
export function loadBootstrapObject(obj: unknown, registries: Registries): ResolvedBootstrap {
  const { bootstrap, issues } = parseBootstrapLenient(obj);
  if (!bootstrap) throw new BootstrapError(issues);
  return resolveBootstrap(bootstrap, registries, issues);
}

/** Reads, validates and resolves a YAML or JSON bootstrap file. */
export function loadBootstrapFile(path: string, registries: Registries): ResolvedBootstrap {
  return loadBootstrapObject(readBootstrapFile(path), registries);
}
