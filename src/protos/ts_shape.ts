/**
 * Converts a protobufjs message (a decoded Message or a plain object with the same snake_case
 * keys) into the shape of the ts-proto interfaces in src/generated (onlyTypes, snakeToCamel=false,
 * forceLong=number, useOptionals=none): scalars always present with their proto3 default,
 * unset messages undefined, wrappers unwrapped, Any as {type_url, value: Buffer},
 * Struct/Value/ListValue as plain JSON, Timestamp as Date, FieldMask as string[].
 */
import * as protobuf from 'protobufjs';

type Obj = Record<string, unknown>;

const WRAPPERS = new Set(
  ['Double', 'Float', 'Int64', 'UInt64', 'Int32', 'UInt32', 'Bool', 'String', 'Bytes'].map(
    (k) => `.google.protobuf.${k}Value`,
  ),
);

export function isWrapperType(type: protobuf.Type): boolean {
  return WRAPPERS.has(type.fullName);
}

function has(obj: Obj, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(obj, key) && obj[key] !== undefined && obj[key] !== null;
}

/** Long (from decoding), string or number -> number. */
export function toNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') return Number(value);
  if (typeof value === 'object' && value !== null && 'toNumber' in value) {
    return (value as { toNumber(): number }).toNumber();
  }
  return Number(value);
}

function scalar(field: protobuf.Field, value: unknown): unknown {
  switch (field.type) {
    case 'int64': case 'uint64': case 'sint64': case 'fixed64': case 'sfixed64':
    case 'double': case 'float':
      return toNumber(value);
    case 'bytes':
      return Buffer.from(value as Uint8Array);
    default:
      return value;
  }
}

function scalarDefault(field: protobuf.Field): unknown {
  if (field.resolvedType instanceof protobuf.Enum) return 0;
  switch (field.type) {
    case 'string': return '';
    case 'bool': return false;
    case 'bytes': return Buffer.alloc(0);
    default: return 0;
  }
}

function structValue(value: Obj): unknown {
  // protobufjs defines google.protobuf.Value itself (its "common" files), with camelCase field names.
  if (has(value, 'nullValue')) return null;
  if (has(value, 'numberValue')) return value.numberValue;
  if (has(value, 'stringValue')) return value.stringValue;
  if (has(value, 'boolValue')) return value.boolValue;
  if (has(value, 'structValue')) return struct(value.structValue as Obj);
  if (has(value, 'listValue')) return list(value.listValue as Obj);
  return undefined;
}

function struct(value: Obj): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries((value.fields ?? {}) as Obj)) out[k] = structValue(v as Obj);
  return out;
}

function list(value: Obj): unknown[] {
  return ((value.values ?? []) as Obj[]).map(structValue);
}

/** A message value of `type` in ts-proto shape (wrappers and well-known types included). */
export function messageToTs(type: protobuf.Type, value: Obj): unknown {
  switch (type.fullName) {
    case '.google.protobuf.Duration':
      return { seconds: toNumber(value.seconds ?? 0), nanos: toNumber(value.nanos ?? 0) };
    case '.google.protobuf.Timestamp':
      return new Date(toNumber(value.seconds ?? 0) * 1000 + Math.floor(toNumber(value.nanos ?? 0) / 1e6));
    case '.google.protobuf.Any':
      return { type_url: value.type_url ?? '', value: Buffer.from((value.value ?? []) as Uint8Array) };
    case '.google.protobuf.Struct':
      return struct(value);
    case '.google.protobuf.Value':
      return structValue(value);
    case '.google.protobuf.ListValue':
      return list(value);
    case '.google.protobuf.FieldMask':
      return [...((value.paths ?? []) as string[])];
  }
  if (isWrapperType(type)) return scalar(type.fields.value, has(value, 'value') ? value.value : scalarDefault(type.fields.value));
  const out: Obj = {};
  for (const field of type.fieldsArray) {
    const set = has(value, field.name);
    const raw = value[field.name];
    if (field.map) {
      const map: Obj = {};
      for (const [k, v] of Object.entries((set ? raw : {}) as Obj)) map[k] = fieldValueToTs(field, v);
      out[field.name] = map;
    } else if (field.repeated) {
      out[field.name] = set ? (raw as unknown[]).map((v) => fieldValueToTs(field, v)) : [];
    } else if (field.partOf) {
      if (set) out[field.name] = fieldValueToTs(field, raw);
    } else if (field.resolvedType instanceof protobuf.Type) {
      out[field.name] = set ? fieldValueToTs(field, raw) : undefined;
    } else {
      out[field.name] = set ? fieldValueToTs(field, raw) : scalarDefault(field);
    }
  }
  return out;
}

function fieldValueToTs(field: protobuf.Field, value: unknown): unknown {
  if (field.resolvedType instanceof protobuf.Type) return messageToTs(field.resolvedType, value as Obj);
  return scalar(field, value);
}
