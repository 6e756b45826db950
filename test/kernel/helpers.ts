// Helpers for the real-kernel datapath tests: privileges, bpffs/cgroup2 discovery, socket pairs,
// byte-exact transfers, bpftool, and node children (in another netns or cgroup) that load the
// TypeScript sources through a transpile-on-require hook.
import { execFileSync, spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { socketFd } from '../../src/network/socket_interface';

export const REPO = path.resolve(__dirname, '../..');
export const BPF_OBJECT = path.join(REPO, 'build/bpf/sockmap_kern.o');
export const SOCKMAP_DIR = path.join(REPO, 'src/extensions/network/socket_interface/sockmap');

// Privileges, bpffs and cgroup helpers are shared with the end-to-end tests (test/support).
export { kernelTestsEnabled as canRunKernelTests } from '../support/privileges';
export { createTestCgroup as createCgroup, ensureBpffs, uniquePinDir, type TestCgroup } from '../support/bpffs';

export function unique(tag: string): string {
  return `envoy-ts-t-${tag}-${process.pid}-${crypto.randomBytes(3).toString('hex')}`;
}

export function buildBpfIfMissing(): void {
  if (!fs.existsSync(BPF_OBJECT)) execFileSync(process.execPath, [path.join(REPO, 'scripts/build-bpf.js')], { stdio: 'inherit' });
}

/** Compiles a variant object from C source text (for failure-mode and guard-off tests). */
export function compileBpf(source: string, out: string, defines: string[] = []): string {
  const src = `${out}.c`;
  fs.writeFileSync(src, source);
  const arch = execFileSync('gcc', ['-print-multiarch'], { encoding: 'utf8' }).trim() || 'x86_64-linux-gnu';
  execFileSync('clang', ['-O2', '-g', '-target', 'bpf', `-I/usr/include/${arch}`, `-I${REPO}/bpf`, ...defines.map((d) => `-D${d}`), '-c', src, '-o', out]);
  return out;
}

export function fdOf(s: net.Socket): number {
  const fd = socketFd(s);
  if (fd === undefined) throw new Error('socket has no fd');
  return fd;
}

export interface Pair {
  client: net.Socket;
  server: net.Socket;
  listener: net.Server;
  close(): Promise<void>;
}

/** A connected pair; the server side starts paused (nothing read until resumed). */
export async function tcpPair(opts: { host?: string; port?: number; localPort?: number; connectHost?: string } = {}): Promise<Pair> {
  const host = opts.host ?? '127.0.0.1';
  const listener = net.createServer({ pauseOnConnect: true });
  await new Promise<void>((r) => listener.listen(opts.port ?? 0, host, r));
  const port = (listener.address() as net.AddressInfo).port;
  const serverP = new Promise<net.Socket>((r) => listener.once('connection', r));
  const client = net.connect({ host: opts.connectHost ?? host, port, localPort: opts.localPort });
  await new Promise<void>((r, j) => {
    client.once('connect', r);
    client.once('error', j);
  });
  const server = await serverP;
  return {
    client,
    server,
    listener,
    async close() {
      client.destroy();
      server.destroy();
      await new Promise<void>((r) => listener.close(() => r()));
    },
  };
}

/** Resolves with exactly n bytes read from `sock` (resumes it, pauses it again afterwards). */
export function readExactly(sock: net.Socket, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const onData = (c: Buffer): void => {
      chunks.push(c);
      got += c.length;
      if (got >= n) {
        sock.off('data', onData);
        sock.pause();
        resolve(Buffer.concat(chunks));
      }
    };
    sock.on('data', onData);
    sock.once('error', reject);
    sock.resume();
  });
}

/** Writes data on `from`, collects exactly data.length bytes on `to`. */
export function transfer(from: net.Socket, to: net.Socket, data: Buffer): Promise<Buffer> {
  const got = readExactly(to, data.length);
  from.write(data);
  return got;
}

export function sha256(b: Buffer): string {
  return crypto.createHash('sha256').update(b).digest('hex');
}

export function delta(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(after)) out[k] = after[k] - (before[k] ?? 0);
  return out;
}

export function bpftool<T = unknown>(...args: string[]): T {
  const out = execFileSync('bpftool', ['-j', ...args], { encoding: 'utf8' }).trim();
  return JSON.parse(out || 'null') as T;
}

/** Preamble for `node -e`: require() of .ts files transpiles them with typescript. */
const TS_HOOK = `
const Module = require('module'); const fs = require('fs');
const ts = require(${JSON.stringify(path.join(REPO, 'node_modules/typescript'))});
Module._extensions['.ts'] = (m, f) => m._compile(ts.transpileModule(fs.readFileSync(f, 'utf8'),
  { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true } }).outputText, f);
Module.Module._initPaths && 0;
const SOCKMAP = ${JSON.stringify(SOCKMAP_DIR)};
const REPO_HELPERS = ${JSON.stringify(path.join(REPO, 'test/kernel/helpers.ts'))};
`;

export interface ChildResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a node script (with the TS hook) under an optional command prefix (nsenter, sh -c ...). */
export function runNodeChild(script: string, prefix: string[] = [], onLine?: (line: string) => void): { done: Promise<ChildResult>; stdin: NodeJS.WritableStream; pid: number } {
  const argv = [...prefix, process.execPath, '-e', TS_HOOK + script];
  const child = spawn(argv[0], argv.slice(1), { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, NODE_PATH: path.join(REPO, 'node_modules') } });
  let stdout = '';
  let stderr = '';
  let partial = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d;
    partial += d;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) onLine?.(l);
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  const done = new Promise<ChildResult>((r) => child.on('close', (code) => r({ code, stdout, stderr })));
  return { done, stdin: child.stdin, pid: child.pid ?? -1 };
}

/** A port p such that p and p + 1 are both free on 127.0.0.1 right now (for fixed-port tests). */
export async function freePortPair(): Promise<number> {
  const canBind = (port: number) =>
    new Promise<boolean>((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = 30000 + crypto.randomInt(20000);
    if ((await canBind(port)) && (await canBind(port + 1))) return port;
  }
  throw new Error('no two adjacent free ports found');
}

/** Runs the registered cleanups, last first, each even when an earlier one failed. */
export async function runCleanups(cleanups: (() => unknown)[]): Promise<void> {
  while (cleanups.length) {
    try {
      await (cleanups.pop() as () => unknown)();
    } catch (err) {
      console.error('cleanup failed', err);
    }
  }
}
