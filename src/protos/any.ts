import type { Any } from '../generated/google/protobuf/any';
import { typeFromUrl } from './loader';
import { isWrapperType, messageToTs } from './ts_shape';

export class UnknownTypeError extends Error {}

/** Decodes an Any into the ts-proto shape of its embedded message (e.g. a typed_config). */
export function unpackAny<T>(any: Pick<Any, 'type_url' | 'value'>): T {
  const type = typeFromUrl(any.type_url);
  if (!type) throw new UnknownTypeError(`unknown type '${any.type_url}'`);
  const message = type.decode(any.value);
  const value = messageToTs(type, message as unknown as Record<string, unknown>);
  // As a field, a wrapper or Struct is its plain value; as a whole config it keeps its message shape.
  if (isWrapperType(type)) return { value } as T;
  if (type.fullName === '.google.protobuf.Struct') return { fields: value } as T;
  return value as T;
}
