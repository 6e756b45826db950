import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';

export type Variant = 'stub' | 'libbpf';
const ROOT = path.resolve(__dirname, '../..');

export function cliPath(variant: Variant): string {
  return path.join(ROOT, 'build', variant, 'cli.js');
}

export function bpfObjectPath(): string {
  return path.join(ROOT, 'build', 'bpf', 'sockmap_kern.o');
}

/** How to start the CLI beyond its arguments. */
export interface StartOptions {
  /**
   * A cgroup v2 directory the process joins before exec'ing node, so that every socket it creates
   * (its listeners included) belongs to that cgroup from the start.
   */
  cgroup?: string;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Run as this uid and gid (an unprivileged user) instead of root. */
  user?: number;
}

/** argv that runs `argv` inside the cgroup: a shell joins it, then execs (same pid). */
export function inCgroupArgv(cgroup: string, argv: string[]): string[] {
  return ['sh', '-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', cgroup, ...argv];
}

/** A running envoy-ts process started from the built CLI, with its log collected. */
export class EnvoyProcess {
  log = '';
  private exited: Promise<number | null>;

  private constructor(readonly child: ChildProcess, readonly configPath: string) {
    child.stdout?.on('data', (d: Buffer) => (this.log += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.log += d.toString()));
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  }

  static start(variant: Variant, bootstrap: object, args: string[] = [], options: StartOptions = {}): EnvoyProcess {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'envoy-ts-'));
    const configPath = path.join(dir, 'envoy.yaml');
    fs.writeFileSync(configPath, stringify(bootstrap));
    if (options.user !== undefined) fs.chmodSync(dir, 0o755); // the config must be readable by that user
    const node = [process.execPath, cliPath(variant), '-c', configPath, ...args];
    const argv = options.cgroup ? inCgroupArgv(options.cgroup, node) : node;
    const child = spawn(argv[0], argv.slice(1), {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...options.env },
      ...(options.user !== undefined ? { uid: options.user, gid: options.user } : {}),
    });
    return new EnvoyProcess(child, configPath);
  }

  /** Runs the CLI to completion (e.g. --mode validate). */
  static async run(variant: Variant, bootstrap: object, args: string[] = []): Promise<{ code: number | null; log: string }> {
    const p = EnvoyProcess.start(variant, bootstrap, args);
    const code = await p.exited;
    return { code, log: p.log };
  }

  /** The process id (the shell of a cgroup start execs node, so it is node's). */
  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** How many log lines match `pattern`. */
  countLogLines(pattern: RegExp): number {
    return this.log.split('\n').filter((line) => pattern.test(line)).length;
  }

  async waitForLog(pattern: RegExp, timeoutMs = 15000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.log)) {
      if (this.child.exitCode !== null) throw new Error(`envoy-ts exited (${this.child.exitCode}) before ${pattern}:\n${this.log}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}:\n${this.log}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async waitReady(adminPort: number, timeoutMs = 15000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.child.exitCode !== null) throw new Error(`envoy-ts exited (${this.child.exitCode}):\n${this.log}`);
      try {
        const res = await fetch(`http://127.0.0.1:${adminPort}/ready`);
        if (res.status === 200) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`envoy-ts not ready:\n${this.log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** SIGTERM (or the given signal) and wait for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    const code = await this.exited;
    fs.rmSync(path.dirname(this.configPath), { recursive: true, force: true });
    return code;
  }
}

export async function fetchStats(adminPort: number): Promise<Record<string, number>> {
  const res = await fetch(`http://127.0.0.1:${adminPort}/stats?format=json`);
  const body = (await res.json()) as { stats: { name: string; value: number }[] };
  return Object.fromEntries(body.stats.map((s) => [s.name, s.value]));
}

/**
 * fetchStats over a connection of its own (no keep-alive pool), so that a test counting
 * sock_ops additions in the admin's cgroup knows each call adds exactly one accepted socket.
 */
export function fetchStatsOwnConnection(adminPort: number): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: adminPort, path: '/stats?format=json', agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => {
        try {
          const body = JSON.parse(Buffer.concat(parts).toString()) as { stats: { name: string; value: number }[] };
          resolve(Object.fromEntries(body.stats.map((s) => [s.name, s.value])));
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      });
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

/** after - before for every stat in after. */
export function statsDelta(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(after).map(([name, value]) => [name, value - (before[name] ?? 0)]));
}
