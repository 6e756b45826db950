#!/usr/bin/env node
import { Command, InvalidArgumentError, Option } from 'commander';
import { loadBootstrapFile } from './bootstrap';
import { BootstrapError } from './bootstrap/errors';
import { getLogger, LOG_LEVELS, setLogLevel, type LogLevel } from './common/logger';
import { registerBuiltinExtensions } from './extensions/builtin';
import { registries } from './registry/factories';
import { Server } from './server/server';

/** Exit codes: 0 ok, 1 configuration error, 2 the server failed to start or crashed. */
const EXIT_CONFIG = 1;
const EXIT_RUNTIME = 2;

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number >= 1');
  return n;
}

interface CliOptions {
  configPath: string;
  mode: 'serve' | 'validate';
  logLevel: LogLevel;
  concurrency: number;
}

function parseArgs(argv: string[]): CliOptions {
  const program = new Command('envoy-ts')
    .description('Envoy-style TCP proxy with an eBPF sockmap socket interface')
    .requiredOption('-c, --config-path <file>', 'bootstrap YAML or JSON file')
    .addOption(new Option('--mode <mode>', 'serve, or validate the config and exit').choices(['serve', 'validate']).default('serve'))
    .addOption(new Option('-l, --log-level <level>', 'log level').choices([...LOG_LEVELS]).default('info'))
    .option('--concurrency <n>', 'worker processes sharing the listeners', positiveInt, 1)
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : EXIT_CONFIG));
  program.parse(argv);
  return program.opts<CliOptions>();
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv);
  setLogLevel(options.logLevel);
  const log = getLogger('main');
  registerBuiltinExtensions();

  let bootstrap;
  try {
    bootstrap = loadBootstrapFile(options.configPath, registries);
  } catch (err) {
    if (!(err instanceof BootstrapError)) throw err;
    process.stderr.write(`error: invalid configuration '${options.configPath}':\n${err.message}\n`);
    process.exit(EXIT_CONFIG);
  }
  if (options.mode === 'validate') {
    process.stdout.write(`configuration '${options.configPath}' OK\n`);
    return;
  }

  const server = new Server(bootstrap, { concurrency: options.concurrency });
  try {
    await server.start();
  } catch (err) {
    log.critical(`failed to start: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(EXIT_RUNTIME);
  }
  const stop = (signal: string) => {
    log.info(`caught ${signal}, shutting down`);
    server.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error(`shutdown failed: ${String(err)}`);
        process.exit(EXIT_RUNTIME);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`envoy-ts: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(EXIT_RUNTIME);
});
