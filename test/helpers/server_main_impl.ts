import * as fs from 'node:fs';
import { setLogLevel, type LogLevel } from '../../src/common/logger';
import { Server } from '../../src/server/server';
import { resolvedBootstrap, type ProxySpec } from './bootstrap';

export interface ServerMainSpec extends ProxySpec {
  concurrency: number;
  logLevel?: LogLevel;
}

export function main(specPath: string | undefined): void {
  if (!specPath) throw new Error('usage: server_main.js SPEC.json');
  const spec = JSON.parse(fs.readFileSync(specPath, 'utf8')) as ServerMainSpec;
  if (spec.logLevel) setLogLevel(spec.logLevel);
  const server = new Server(resolvedBootstrap(spec), { concurrency: spec.concurrency });
  server.start().catch((err: unknown) => {
    process.stderr.write(`server_main: ${String(err)}\n`);
    process.exit(2);
  });
}
