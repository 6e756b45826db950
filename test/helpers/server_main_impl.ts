import * as fs from 'node:fs';
import { setLogLevel, type LogLevel } from '../../src/common/logger';
import { Server } from '../../src/server/server';
import type { ResolvedBootstrap } from '../../src/server/resolved_bootstrap';
import { resolvedBootstrap, type ProxySpec } from './bootstrap';
import { COUNTING_SOCKET_INTERFACE, countingSocketInterfaceFactory } from './counting_socket_interface';

export interface ServerMainSpec extends ProxySpec {
  concurrency: number;
  logLevel?: LogLevel;
  /** Installs the counting socket interface (counting_socket_interface.ts). */
  countHooks?: boolean;
}

/** The ResolvedBootstrap for a spec, the same in the test process and in its workers. */
export function resolvedForSpec(spec: ServerMainSpec): ResolvedBootstrap {
  if (!spec.countHooks) return resolvedBootstrap(spec);
  return resolvedBootstrap(spec, {
    bootstrapExtensions: [{ name: COUNTING_SOCKET_INTERFACE, factory: countingSocketInterfaceFactory }],
    defaultSocketInterface: COUNTING_SOCKET_INTERFACE,
  });
}

export function main(specPath: string | undefined): void {
  if (!specPath) throw new Error('usage: server_main.js SPEC.json');
  const spec = JSON.parse(fs.readFileSync(specPath, 'utf8')) as ServerMainSpec;
  if (spec.logLevel) setLogLevel(spec.logLevel);
  const server = new Server(resolvedForSpec(spec), { concurrency: spec.concurrency });
  server.start().catch((err: unknown) => {
    process.stderr.write(`server_main: ${String(err)}\n`);
    process.exit(2);
  });
}
