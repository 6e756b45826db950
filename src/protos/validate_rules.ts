/**
 * protoc-gen-validate options as protobufjs exposes them. protobufjs keeps custom options in
 * `parsedOptions`, one entry per option statement ([{"(validate.rules)": {uint32: {gte: 1}}}, ...]);
 * this merges them into one rules object per field and normalizes `in`/`not_in` to arrays (a
 * single-element list parses as a scalar).
 */
import type * as protobuf from 'protobufjs';

/** A PGV rule object, e.g. {uint32: {gte: 1}} or {repeated: {max_items: 128, items: {...}}}. */
export type Rules = { [kind: string]: RuleValue };
export type RuleValue = string | number | boolean | RuleValue[] | { [key: string]: RuleValue };

interface HasOptions {
  parsedOptions?: Array<Record<string, unknown>> | null;
  options?: Record<string, unknown>;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function merge(into: Record<string, unknown>, from: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(from)) {
    if (!isObject(value)) {
      into[key] = value;
      continue;
    }
    const existing = into[key];
    const target = isObject(existing) ? existing : (into[key] = {});
    merge(target as Record<string, unknown>, value);
  }
}

function normalizeLists(rules: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(rules)) {
    if ((key === 'in' || key === 'not_in') && !Array.isArray(value)) rules[key] = [value];
    else if (isObject(value)) normalizeLists(value);
  }
}

function optionValue(obj: HasOptions, name: string): unknown[] {
  return (obj.parsedOptions ?? []).filter((o) => name in o).map((o) => o[name]);
}

/** The merged (validate.rules) of a field, or undefined when it has none. */
export function fieldRules(field: protobuf.Field): Rules | undefined {
  const parts = optionValue(field as HasOptions, '(validate.rules)').filter(isObject);
  if (parts.length === 0) return undefined;
  const rules: Record<string, unknown> = {};
  for (const part of parts) merge(rules, part);
  normalizeLists(rules);
  return rules as Rules;
}

/** Whether a oneof carries option (validate.required) = true. */
export function oneofRequired(oneof: protobuf.OneOf): boolean {
  return optionValue(oneof as HasOptions, '(validate.required)').some((v) => v === true);
}
