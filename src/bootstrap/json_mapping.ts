/**
 * Strict proto3 JSON mapping onto protobufjs reflection, with a field path on every error.
 * protobufjs's fromObject ignores unknown fields and knows neither wrappers nor Duration strings,
 * hence this walker. Output is a plain object in protobufjs shape (snake_case keys, wrappers as
 * {value}, Any as {type_url, value: bytes}); PGV rules run on every message it builds.
 */
import * as protobuf from 'protobufjs';
import { typeFromUrl } from '../protos/loader';
import { isWrapperType } from '../protos/ts_shape';
import { joinPath, type ConfigIssue } from './errors';
import { validateMessage } from './pgv';

type Obj = Record<string, unknown>;

/** Envoy-ts restrictions layered on the mapping (see supported_fields.ts). */
export interface FieldPolicy {
  unsupportedField(typeName: string, field: string): string | undefined;
  unsupportedEnumValue(typeName: string, field: string, valueName: string): string | undefined;
}

const INVALID = Symbol('invalid');
type Out = unknown | typeof INVALID;

const MAX_DURATION_SECONDS = 315_576_000_000;
const INT_RANGES: Record<string, [number, number]> = {
  int32: [-(2 ** 31), 2 ** 31 - 1], sint32: [-(2 ** 31), 2 ** 31 - 1], sfixed32: [-(2 ** 31), 2 ** 31 - 1],
  uint32: [0, 2 ** 32 - 1], fixed32: [0, 2 ** 32 - 1],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER], sint64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  sfixed64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  uint64: [0, Number.MAX_SAFE_INTEGER], fixed64: [0, Number.MAX_SAFE_INTEGER],
};

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  return typeof v === 'string' ? JSON.stringify(v) : `${typeof v} ${String(v)}`;
}

/** protoc's json_name: underscores dropped, the following character upper-cased. */
export function jsonName(protoName: string): string {
  return protoName.replace(/_(.)/g, (_m, c: string) => c.toUpperCase());
}

export class JsonMapper {
  readonly issues: ConfigIssue[] = [];

  constructor(private readonly policy?: FieldPolicy) {}

  /** Maps `json` onto message `type`; undefined when it is not even an object. */
  message(type: protobuf.Type, json: unknown, path: string): Obj | undefined {
    const out = this.messageValue(type, json, path);
    return out === INVALID ? undefined : (out as Obj);
  }

  private fail(path: string, message: string): typeof INVALID {
    this.issues.push({ path, message });
    return INVALID;
  }

  private messageValue(type: protobuf.Type, json: unknown, path: string): Out {
    const special = this.wellKnown(type, json, path);
    if (special !== undefined) return special;
    if (!isObject(json)) return this.fail(path, `expected an object for ${type.fullName.slice(1)} (got ${describe(json)})`);
    const out: Obj = {};
    const seen = new Map<string, string>();
    const oneofSetBy = new Map<string, string>();
    const failed = new Set<string>();
    const typeName = type.fullName.slice(1);
    for (const [key, value] of Object.entries(json)) {
      const field = type.fields[key] ?? type.fieldsArray.find((f) => jsonName(f.name) === key);
      if (!field) {
        this.fail(joinPath(path, key), 'unknown field');
        continue;
      }
      const p = joinPath(path, field.name);
      const earlier = seen.get(field.name);
      seen.set(field.name, key);
      if (earlier !== undefined) {
        this.fail(p, `set twice (as '${earlier}' and '${key}')`);
        continue;
      }
      if (value === null && field.resolvedType?.fullName !== '.google.protobuf.Value') continue;
      const unsupported = this.policy?.unsupportedField(typeName, field.name);
      if (unsupported) {
        failed.add(field.name);
        this.fail(p, unsupported);
        continue;
      }
      const oneof = field.partOf && field.partOf.oneof.length > 1 ? field.partOf : undefined;
      if (oneof) {
        const other = oneofSetBy.get(oneof.name);
        if (other) {
          this.fail(p, `only one of ${other} and ${field.name} may be set (oneof ${oneof.name})`);
          continue;
        }
        oneofSetBy.set(oneof.name, field.name);
      }
      const converted = this.fieldValue(field, value, p);
      if (converted === INVALID) {
        failed.add(field.name);
        continue;
      }
      out[field.name] = converted;
      // An undefined number is left to the defined_only rule.
      const enumName = field.resolvedType instanceof protobuf.Enum && !field.repeated && !field.map
        ? field.resolvedType.valuesById[converted as number] : undefined;
      const badValue = enumName === undefined ? undefined : this.policy?.unsupportedEnumValue(typeName, field.name, enumName);
      if (badValue) this.fail(p, badValue);
    }
    validateMessage(type, out, path, this.issues, failed);
    return out;
  }

  private fieldValue(field: protobuf.Field, json: unknown, path: string): Out {
    if (field.map) {
      if (!isObject(json)) return this.fail(path, `expected an object (map) (got ${describe(json)})`);
      const out: Obj = {};
      for (const [key, value] of Object.entries(json)) {
        const p = `${path}[${JSON.stringify(key)}]`;
        if (this.scalar((field as unknown as protobuf.MapField).keyType, null, key, p, true) === INVALID) continue;
        const v = this.single(field, value, p);
        if (v !== INVALID) out[key] = v;
      }
      return out;
    }
    if (field.repeated) {
      if (!Array.isArray(json)) return this.fail(path, `expected an array (got ${describe(json)})`);
      const out: unknown[] = [];
      json.forEach((item, i) => {
        const v = this.single(field, item, `${path}[${i}]`);
        if (v !== INVALID) out.push(v);
      });
      return out;
    }
    return this.single(field, json, path);
  }

  private single(field: protobuf.Field, json: unknown, path: string): Out {
    const resolved = field.resolvedType;
    if (resolved instanceof protobuf.Type) return this.messageValue(resolved, json, path);
    return this.scalar(field.type, resolved instanceof protobuf.Enum ? resolved : null, json, path, false);
  }

  private scalar(type: string, enumType: protobuf.Enum | null, json: unknown, path: string, mapKey: boolean): Out {
    if (enumType) return this.enumValue(enumType, json, path);
    const range = INT_RANGES[type];
    if (range) {
      const n = typeof json === 'number' ? json : typeof json === 'string' && /^-?\d+$/.test(json) ? Number(json) : NaN;
      if (!Number.isInteger(n)) return this.fail(path, `expected an integer (got ${describe(json)})`);
      if (n < range[0]) return this.fail(path, `must be >= ${range[0]} for ${type} (got ${n})`);
      if (n > range[1]) return this.fail(path, `must be <= ${range[1]} for ${type} (got ${n})`);
      return n;
    }
    switch (type) {
      case 'double': case 'float': {
        if (typeof json === 'number') return json;
        const special: Record<string, number> = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity };
        if (typeof json === 'string' && json in special) return special[json];
        if (typeof json === 'string' && json.trim() !== '' && !Number.isNaN(Number(json))) return Number(json);
        return this.fail(path, `expected a number (got ${describe(json)})`);
      }
      case 'bool':
        if (typeof json === 'boolean') return json;
        if (mapKey && (json === 'true' || json === 'false')) return json === 'true';
        return this.fail(path, `expected true or false (got ${describe(json)})`);
      case 'string':
        return typeof json === 'string' ? json : this.fail(path, `expected a string (got ${describe(json)})`);
      case 'bytes':
        if (typeof json === 'string' && /^[A-Za-z0-9+/_-]*={0,2}$/.test(json)) return Buffer.from(json, 'base64');
        return this.fail(path, `expected base64 bytes (got ${describe(json)})`);
    }
    return this.fail(path, `unsupported scalar type ${type}`);
  }

  private enumValue(enumType: protobuf.Enum, json: unknown, path: string): Out {
    if (enumType.fullName === '.google.protobuf.NullValue' && json === null) return 0;
    if (typeof json === 'number' && Number.isInteger(json)) return json;
    if (typeof json === 'string' && json in enumType.values) return enumType.values[json];
    const names = Object.keys(enumType.values).join(', ');
    return this.fail(path, `expected one of ${names} (got ${describe(json)})`);
  }

  /** Well-known types with a special JSON form; undefined for ordinary messages. */
  private wellKnown(type: protobuf.Type, json: unknown, path: string): Out | undefined {
    if (isWrapperType(type)) {
      const v = this.single(type.fields.value, json, path);
      return v === INVALID ? v : { value: v };
    }
    switch (type.fullName) {
      case '.google.protobuf.Duration':
        return typeof json === 'string' ? this.durationString(json, path) : undefined;
      case '.google.protobuf.Timestamp': {
        if (typeof json !== 'string') return undefined;
        const ms = Date.parse(json);
        if (!/^\d{4}-\d\d-\d\dT/.test(json) || Number.isNaN(ms)) return this.fail(path, `expected an RFC 3339 timestamp (got ${describe(json)})`);
        const frac = /\.(\d+)/.exec(json)?.[1] ?? '';
        return { seconds: Math.floor(ms / 1000), nanos: Number(frac.padEnd(9, '0').slice(0, 9)) };
      }
      case '.google.protobuf.FieldMask':
        if (typeof json !== 'string') return this.fail(path, `expected a comma-separated string (got ${describe(json)})`);
        return { paths: json ? json.split(',').map((s) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)) : [] };
      case '.google.protobuf.Struct':
        if (!isObject(json)) return this.fail(path, `expected an object (got ${describe(json)})`);
        return this.struct(json);
      case '.google.protobuf.ListValue':
        if (!Array.isArray(json)) return this.fail(path, `expected an array (got ${describe(json)})`);
        return { values: json.map((v) => this.structValue(v)) };
      case '.google.protobuf.Value':
        return this.structValue(json);
      case '.google.protobuf.Any':
        return this.any(json, path);
    }
    return undefined;
  }

  private durationString(s: string, path: string): Out {
    const m = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/.exec(s);
    if (!m) {
      return this.fail(path, `invalid duration ${JSON.stringify(s)}: expected seconds with up to 9 fractional digits and an 's' suffix, e.g. "0.25s"`);
    }
    const sign = m[1] ? -1 : 1;
    const seconds = Number(m[2]);
    if (seconds > MAX_DURATION_SECONDS) return this.fail(path, `duration ${JSON.stringify(s)} is out of range`);
    return { seconds: sign * seconds || 0, nanos: sign * Number((m[3] ?? '').padEnd(9, '0')) || 0 };
  }

  private struct(json: Obj): Obj {
    const fields: Obj = {};
    for (const [k, v] of Object.entries(json)) fields[k] = this.structValue(v);
    return { fields };
  }

  // protobufjs defines google.protobuf.Value itself (its "common" files), with camelCase field names.
  private structValue(json: unknown): Obj {
    if (json === null) return { nullValue: 0 };
    if (Array.isArray(json)) return { listValue: { values: json.map((v) => this.structValue(v)) } };
    if (isObject(json)) return { structValue: this.struct(json) };
    if (typeof json === 'number') return { numberValue: json };
    if (typeof json === 'boolean') return { boolValue: json };
    return { stringValue: String(json) };
  }

  /** {"@type": url, ...fields} -> {type_url, value: encoded embedded message}. */
  private any(json: unknown, path: string): Out {
    if (!isObject(json)) return this.fail(path, `expected an object with "@type" (got ${describe(json)})`);
    const url = json['@type'];
    const typePath = joinPath(path, '@type');
    if (typeof url !== 'string' || url === '') return this.fail(typePath, 'is required');
    const type = typeFromUrl(url);
    if (!type) return this.fail(typePath, `unknown type '${url}'`);
    const { '@type': _drop, ...rest } = json;
    // Well-known types embed their JSON form under "value".
    const hasSpecialForm = isWrapperType(type) || /^\.google\.protobuf\.(Duration|Timestamp|FieldMask|Struct|ListValue|Value|Any)$/.test(type.fullName);
    const before = this.issues.length;
    const embedded = this.messageValue(type, hasSpecialForm ? rest.value : rest, hasSpecialForm ? joinPath(path, 'value') : path);
    if (embedded === INVALID || this.issues.length > before) return INVALID;
    const value = type.encode(type.fromObject(embedded as Obj)).finish();
    return { type_url: url, value };
  }
}
