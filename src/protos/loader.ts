/**
 * Envoy's v3 protos, loaded once at run time with protobufjs reflection (keepCase: field names
 * stay snake_case, as in the .proto files and in the ts-proto types).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as protobuf from 'protobufjs';
import { typeNameFromUrl } from '../registry/registry';

/** The include dirs, from scripts/proto-paths.js (shared with proto generation) of the package. */
function protoIncludeDirs(): string[] {
  // Compiled code lives at different depths (dist/, build/<variant>/), so look upwards.
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const script = path.join(dir, 'scripts', 'proto-paths.js');
    if (fs.existsSync(script)) return (require(script) as { protoIncludeDirs(): string[] }).protoIncludeDirs();
    if (path.dirname(dir) === dir) throw new Error(`scripts/proto-paths.js not found above ${__dirname}`);
  }
}

export const ROOT_PROTO_FILES: readonly string[] = [
  'envoy/config/bootstrap/v3/bootstrap.proto',
  'envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto',
  'envoy/extensions/network/socket_interface/v3/default_socket_interface.proto',
  'envoy/extensions/network/socket_interface/sockmap/v3/sockmap.proto',
];

let cached: protobuf.Root | undefined;
let messageNames: string[] | undefined;
let messageNameSet: Set<string> | undefined;

/** The Root holding every message reachable from ROOT_PROTO_FILES; loaded on first use. */
export function protoRoot(): protobuf.Root {
  if (cached) return cached;
  const dirs = protoIncludeDirs();
  const root = new protobuf.Root();
  root.resolvePath = (_origin: string, target: string): string => {
    if (path.isAbsolute(target)) return target;
    for (const dir of dirs) {
      const candidate = path.join(dir, target);
      if (fs.existsSync(candidate)) return candidate;
    }
    return target;
  };
  root.loadSync([...ROOT_PROTO_FILES], { keepCase: true });
  root.resolveAll();
  cached = root;
  return root;
}

/** The message type with this fully-qualified name (no leading dot); throws when unknown. */
export function lookupType(fullName: string): protobuf.Type {
  return protoRoot().lookupType(fullName);
}

/** The message type named by a type URL such as type.googleapis.com/a.b.C, or undefined. */
export function typeFromUrl(typeUrl: string): protobuf.Type | undefined {
  const name = typeNameFromUrl(typeUrl);
  knownMessageNames();
  if (!messageNameSet?.has(name)) return undefined;
  return protoRoot().lookupType(name);
}

/** Fully-qualified names (no leading dot) of every loaded message type, sorted. */
export function knownMessageNames(): readonly string[] {
  if (messageNames) return messageNames;
  const names: string[] = [];
  const visit = (ns: protobuf.NamespaceBase): void => {
    for (const nested of ns.nestedArray) {
      if (nested instanceof protobuf.Type) names.push(nested.fullName.slice(1));
      if (nested instanceof protobuf.Namespace) visit(nested);
    }
  };
  visit(protoRoot());
  messageNames = names.sort();
  messageNameSet = new Set(names);
  return messageNames;
}
