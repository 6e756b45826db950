import type { Bootstrap } from '../generated/envoy/config/bootstrap/v3/bootstrap';
import { lookupType } from '../protos/loader';
import { messageToTs } from '../protos/ts_shape';
import { BootstrapError, type ConfigIssue } from './errors';
import { JsonMapper, type FieldPolicy } from './json_mapping';
import { checkStructure } from './structural';
import { unsupportedEnumReason, unsupportedFieldReason } from './supported_fields';

export const BOOTSTRAP_TYPE = 'envoy.config.bootstrap.v3.Bootstrap';

const envoyTsPolicy: FieldPolicy = {
  unsupportedField: unsupportedFieldReason,
  unsupportedEnumValue: unsupportedEnumReason,
};

/** Maps and validates without throwing: the Bootstrap (undefined if not an object) and every issue. */
export function parseBootstrapLenient(obj: unknown): { bootstrap: Bootstrap | undefined; issues: ConfigIssue[] } {
  const type = lookupType(BOOTSTRAP_TYPE);
  const mapper = new JsonMapper(envoyTsPolicy);
  const pb = mapper.message(type, obj, '');
  if (!pb) return { bootstrap: undefined, issues: mapper.issues };
  const bootstrap = messageToTs(type, pb) as Bootstrap;
  return { bootstrap, issues: [...mapper.issues, ...checkStructure(bootstrap)] };
}

/** A bootstrap object (parsed YAML/JSON) -> Bootstrap, without the registry phase. */
export function parseBootstrap(obj: unknown): Bootstrap {
  const { bootstrap, issues } = parseBootstrapLenient(obj);
  if (!bootstrap || issues.length) throw new BootstrapError(issues);
  return bootstrap;
}
