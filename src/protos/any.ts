import type { Any } from '../generated/google/protobuf/any';
import { typeFromUrl } from './loader';
import { messageToTs } from './ts_shape';

export class UnknownTypeError extends Error {}

/** Decodes an Any into the ts-proto shape of its embedded message (e.g. a typed_config). */
export function unpackAny<T>(any: Pick<Any, 'type_url' | 'value'>): T {
  const type = typeFromUrl(any.type_url);
  if (!type) throw new UnknownTypeError(`unknown type '${any.type_url}'`);
  const message = type.decode(any.value);
  return messageToTs(type, message as unknown as Record<string, unknown>) as T;
}
