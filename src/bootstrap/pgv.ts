/**
 * protoc-gen-validate rules, enforced generically from the (validate.rules) / (validate.required)
 * options of the reflected descriptors, on messages in protobufjs shape (as json_mapping builds
 * them). Checked kinds: message.required/skip; numeric const/lt/lte/gt/gte/in/not_in (with PGV's
 * exclusive-range form when lt < gt); string const/len/min_len/max_len/len_bytes/min_bytes/
 * max_bytes/pattern/prefix/suffix/contains/not_contains/in/not_in and well-known ip/ipv4/ipv6;
 * bytes len/min_len/max_len; bool const; enum const/defined_only/in/not_in; duration
 * required/const/lt/lte/gt/gte/in/not_in; any required/in/not_in; repeated min_items/max_items/
 * unique/items; map min_pairs/max_pairs/keys/values; ignore_empty; oneof (validate.required).
 * Wrapper rules apply to the inner value when the wrapper is set.
 * Ignored silently: string well_known hostname/email/uri/uri_ref/address/uuid/well_known_regex
 * (header name/value syntax), strict; bytes pattern/prefix/suffix/contains/in/not_in/ip*;
 * timestamp rules; message-level (validate.disabled/ignored).
 */
import * as net from 'node:net';
import * as protobuf from 'protobufjs';
import { fieldRules, oneofRequired, type Rules, type RuleValue } from '../protos/validate_rules';
import { isWrapperType, toNumber } from '../protos/ts_shape';
import type { ConfigIssue } from './errors';
import { joinPath } from './errors';

type Obj = Record<string, unknown>;
type KindRules = { [key: string]: RuleValue };

const NUMERIC = new Set([
  'double', 'float', 'int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64',
  'fixed32', 'fixed64', 'sfixed32', 'sfixed64',
]);

function isSet(msg: Obj, key: string): boolean {
  return msg[key] !== undefined && msg[key] !== null;
}

function show(v: unknown): string {
  return typeof v === 'string' ? `'${v}'` : String(v);
}

function list(v: RuleValue | undefined): RuleValue[] {
  return Array.isArray(v) ? v : v === undefined ? [] : [v];
}

/** Checks the rules of every field of one message (not recursively) and its required oneofs. */
export function validateMessage(
  type: protobuf.Type, msg: Obj, path: string, issues: ConfigIssue[], skip: ReadonlySet<string> = new Set(),
): void {
  for (const field of type.fieldsArray) {
    const rules = skip.has(field.name) ? undefined : fieldRules(field);
    if (!rules) continue;
    const p = joinPath(path, field.name);
    const set = isSet(msg, field.name);
    const messageRules = rules.message as KindRules | undefined;
    if (messageRules?.skip === true) continue;
    if (messageRules?.required === true && !set) {
      issues.push({ path: p, message: 'is required' });
      continue;
    }
    if (field.map) checkMap(field, rules, (msg[field.name] ?? {}) as Obj, p, issues);
    else if (field.repeated) checkRepeated(field, rules, (msg[field.name] ?? []) as unknown[], p, issues);
    else if (set) checkValue(field.resolvedType, rules, msg[field.name], true, p, issues);
    // A proto3 scalar outside a oneof always has a value: its default when unset.
    else if (!field.partOf && !(field.resolvedType instanceof protobuf.Type)) checkValue(field.resolvedType, rules, defaultOf(field), true, p, issues);
    else checkValue(field.resolvedType, rules, undefined, false, p, issues);
  }
  for (const oneof of type.oneofsArray) {
    if (!oneofRequired(oneof) || oneof.oneof.some((name) => isSet(msg, name) || skip.has(name))) continue;
    issues.push({ path: joinPath(path, oneof.name), message: `one of ${oneof.oneof.join(', ')} is required` });
  }
}

function defaultOf(field: protobuf.Field): unknown {
  if (field.resolvedType instanceof protobuf.Enum) return 0;
  if (field.type === 'string') return '';
  if (field.type === 'bool') return false;
  if (field.type === 'bytes') return new Uint8Array(0);
  return 0;
}

function checkRepeated(field: protobuf.Field, rules: Rules, items: unknown[], path: string, issues: ConfigIssue[]): void {
  const r = rules.repeated as KindRules | undefined;
  if (!r || (r.ignore_empty === true && items.length === 0)) return;
  if (typeof r.min_items === 'number' && items.length < r.min_items) {
    issues.push({ path, message: `must have at least ${r.min_items} item(s) (got ${items.length})` });
  }
  if (typeof r.max_items === 'number' && items.length > r.max_items) {
    issues.push({ path, message: `must have at most ${r.max_items} item(s) (got ${items.length})` });
  }
  if (r.unique === true) {
    const seen = new Set<string>();
    items.forEach((item, i) => {
      const key = JSON.stringify(item);
      if (seen.has(key)) issues.push({ path: `${path}[${i}]`, message: `duplicate item ${show(item)} (items must be unique)` });
      seen.add(key);
    });
  }
  const itemRules = r.items as Rules | undefined;
  if (itemRules) items.forEach((item, i) => checkValue(field.resolvedType, itemRules, item, true, `${path}[${i}]`, issues));
}

function checkMap(field: protobuf.Field, rules: Rules, map: Obj, path: string, issues: ConfigIssue[]): void {
  const r = rules.map as KindRules | undefined;
  const keys = Object.keys(map);
  if (!r || (r.ignore_empty === true && keys.length === 0)) return;
  if (typeof r.min_pairs === 'number' && keys.length < r.min_pairs) {
    issues.push({ path, message: `must have at least ${r.min_pairs} pair(s) (got ${keys.length})` });
  }
  if (typeof r.max_pairs === 'number' && keys.length > r.max_pairs) {
    issues.push({ path, message: `must have at most ${r.max_pairs} pair(s) (got ${keys.length})` });
  }
  for (const key of keys) {
    const p = `${path}[${JSON.stringify(key)}]`;
    if (r.keys) checkValue(null, r.keys as Rules, key, true, p, issues);
    if (r.values) checkValue(field.resolvedType, r.values as Rules, map[key], true, p, issues);
  }
}

/** Checks one value (a field, a repeated item or a map value) against its rules. */
function checkValue(
  resolved: protobuf.Type | protobuf.Enum | null, rules: Rules, value: unknown, set: boolean, path: string, issues: ConfigIssue[],
): void {
  const push = (message: string | undefined) => message && issues.push({ path, message });
  if (resolved instanceof protobuf.Type) {
    if (resolved.fullName === '.google.protobuf.Duration' && rules.duration) {
      return void checkDuration(rules.duration as KindRules, value as Obj | undefined, push);
    }
    if (resolved.fullName === '.google.protobuf.Any' && rules.any) {
      return void checkAny(rules.any as KindRules, value as Obj | undefined, push);
    }
    if (!set || !isWrapperType(resolved)) return;
    value = (value as Obj).value ?? defaultOf(resolved.fields.value);
  } else if (!set) return;
  for (const [kind, kr] of Object.entries(rules)) {
    if (typeof kr !== 'object' || Array.isArray(kr)) continue;
    if (NUMERIC.has(kind)) push(checkNumber(kr, toNumber(value)));
    else if (kind === 'string') push(checkString(kr, String(value)));
    else if (kind === 'bytes') push(checkBytes(kr, value as Uint8Array));
    else if (kind === 'bool' && kr.const !== undefined && value !== kr.const) push(`must be ${kr.const} (got ${value})`);
    else if (kind === 'enum') push(checkEnum(kr, resolved instanceof protobuf.Enum ? resolved : undefined, Number(value)));
  }
}

function checkNumber(r: KindRules, v: number): string | undefined {
  if (r.ignore_empty === true && v === 0) return undefined;
  if (r.const !== undefined && v !== Number(r.const)) return `must be ${r.const} (got ${v})`;
  const inList = list(r.in).map(Number);
  if (inList.length && !inList.includes(v)) return `must be one of [${inList.join(', ')}] (got ${v})`;
  if (list(r.not_in).map(Number).includes(v)) return `must not be ${v}`;
  return checkBounds(r, v, String(v), (x) => Number(x));
}

/** lt/lte/gt/gte; when the upper bound is below the lower one, PGV means "outside the range". */
function checkBounds(
  r: KindRules, v: number | bigint, shown: string, conv: (x: RuleValue) => number | bigint,
  fmtBound: (x: number | bigint) => string = String,
): string | undefined {
  const lo = r.gt !== undefined ? { val: conv(r.gt), excl: true } : r.gte !== undefined ? { val: conv(r.gte), excl: false } : undefined;
  const hi = r.lt !== undefined ? { val: conv(r.lt), excl: true } : r.lte !== undefined ? { val: conv(r.lte), excl: false } : undefined;
  const loOk = !lo || (lo.excl ? v > lo.val : v >= lo.val);
  const hiOk = !hi || (hi.excl ? v < hi.val : v <= hi.val);
  const loMsg = lo && `must be ${lo.excl ? '>' : '>='} ${fmtBound(lo.val)} (got ${shown})`;
  const hiMsg = hi && `must be ${hi.excl ? '<' : '<='} ${fmtBound(hi.val)} (got ${shown})`;
  if (lo && hi && hi.val < lo.val) {
    return loOk || hiOk ? undefined : `must be outside [${fmtBound(hi.val)}, ${fmtBound(lo.val)}] (got ${shown})`;
  }
  return !loOk ? loMsg : !hiOk ? hiMsg : undefined;
}

function checkString(r: KindRules, s: string): string | undefined {
  if (r.ignore_empty === true && s === '') return undefined;
  const chars = [...s].length;
  const bytes = Buffer.byteLength(s);
  if (r.const !== undefined && s !== r.const) return `must be ${show(r.const)} (got ${show(s)})`;
  if (typeof r.len === 'number' && chars !== r.len) return `must be exactly ${r.len} characters (got ${chars})`;
  if (typeof r.min_len === 'number' && chars < r.min_len) {
    return r.min_len === 1 ? 'must not be empty' : `must be at least ${r.min_len} characters (got ${chars})`;
  }
  if (typeof r.max_len === 'number' && chars > r.max_len) return `must be at most ${r.max_len} characters (got ${chars})`;
  if (typeof r.len_bytes === 'number' && bytes !== r.len_bytes) return `must be exactly ${r.len_bytes} bytes (got ${bytes})`;
  if (typeof r.min_bytes === 'number' && bytes < r.min_bytes) return `must be at least ${r.min_bytes} bytes (got ${bytes})`;
  if (typeof r.max_bytes === 'number' && bytes > r.max_bytes) return `must be at most ${r.max_bytes} bytes (got ${bytes})`;
  if (typeof r.pattern === 'string' && !safeRegExp(r.pattern)?.test(s)) return `must match /${r.pattern}/ (got ${show(s)})`;
  if (typeof r.prefix === 'string' && !s.startsWith(r.prefix)) return `must start with ${show(r.prefix)}`;
  if (typeof r.suffix === 'string' && !s.endsWith(r.suffix)) return `must end with ${show(r.suffix)}`;
  if (typeof r.contains === 'string' && !s.includes(r.contains)) return `must contain ${show(r.contains)}`;
  if (typeof r.not_contains === 'string' && s.includes(r.not_contains)) return `must not contain ${show(r.not_contains)}`;
  const inList = list(r.in).map(String);
  if (inList.length && !inList.includes(s)) return `must be one of [${inList.join(', ')}] (got ${show(s)})`;
  if (list(r.not_in).map(String).includes(s)) return `must not be ${show(s)}`;
  if (r.ip === true && net.isIP(s) === 0) return `must be an IP address (got ${show(s)})`;
  if (r.ipv4 === true && !net.isIPv4(s)) return `must be an IPv4 address (got ${show(s)})`;
  if (r.ipv6 === true && !net.isIPv6(s)) return `must be an IPv6 address (got ${show(s)})`;
  return undefined;
}

/** RE2 patterns are mostly valid JS; one that is not is skipped rather than failing every value. */
function safeRegExp(pattern: string): RegExp | undefined {
  try {
    return new RegExp(pattern, 'u');
  } catch {
    return undefined;
  }
}

function checkBytes(r: KindRules, b: Uint8Array): string | undefined {
  if (r.ignore_empty === true && b.length === 0) return undefined;
  if (typeof r.len === 'number' && b.length !== r.len) return `must be exactly ${r.len} bytes (got ${b.length})`;
  if (typeof r.min_len === 'number' && b.length < r.min_len) return `must be at least ${r.min_len} bytes (got ${b.length})`;
  if (typeof r.max_len === 'number' && b.length > r.max_len) return `must be at most ${r.max_len} bytes (got ${b.length})`;
  return undefined;
}

function checkEnum(r: KindRules, type: protobuf.Enum | undefined, v: number): string | undefined {
  const name = type?.valuesById[v] ?? String(v);
  if (r.const !== undefined && v !== Number(r.const)) return `must be ${type?.valuesById[Number(r.const)] ?? r.const} (got ${name})`;
  if (r.defined_only === true && type && type.valuesById[v] === undefined) {
    return `${v} is not a defined value of enum ${type.fullName.slice(1)}`;
  }
  const inList = list(r.in).map(Number);
  if (inList.length && !inList.includes(v)) return `must be one of [${inList.map((x) => type?.valuesById[x] ?? x).join(', ')}] (got ${name})`;
  if (list(r.not_in).map(Number).includes(v)) return `must not be ${name}`;
  return undefined;
}

function durationNanos(d: RuleValue | Obj | undefined): bigint {
  const o = (d ?? {}) as Obj;
  return BigInt(toNumber(o.seconds ?? 0)) * 1_000_000_000n + BigInt(toNumber(o.nanos ?? 0));
}

function fmtDuration(nanos: bigint): string {
  const neg = nanos < 0n;
  const abs = neg ? -nanos : nanos;
  const frac = (abs % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  return `${neg ? '-' : ''}${abs / 1_000_000_000n}${frac ? `.${frac}` : ''}s`;
}

function checkDuration(r: KindRules, d: Obj | undefined, push: (m: string | undefined) => void): void {
  if (!d) return void (r.required === true && push('is required'));
  const v = durationNanos(d);
  const shown = fmtDuration(v);
  if (r.const !== undefined && v !== durationNanos(r.const)) return void push(`must be ${fmtDuration(durationNanos(r.const))} (got ${shown})`);
  const inList = list(r.in).map(durationNanos);
  if (inList.length && !inList.includes(v)) return void push(`must be one of [${inList.map(fmtDuration).join(', ')}] (got ${shown})`);
  if (list(r.not_in).map(durationNanos).includes(v)) return void push(`must not be ${shown}`);
  push(checkBounds(r, v, shown, durationNanos, (x) => fmtDuration(BigInt(x))));
}

function checkAny(r: KindRules, a: Obj | undefined, push: (m: string | undefined) => void): void {
  if (!a) return void (r.required === true && push('is required'));
  const url = String(a.type_url);
  const inList = list(r.in).map(String);
  if (inList.length && !inList.includes(url)) push(`type must be one of [${inList.join(', ')}] (got '${url}')`);
  if (list(r.not_in).map(String).includes(url)) push(`type must not be '${url}'`);
}
