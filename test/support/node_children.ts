// Small node child processes for end-to-end tests, optionally started inside a cgroup v2
// directory (so that every socket they create belongs to it): an "application" client that sends
// random payloads and checks the echo, and a plain echo server. They talk to the test through one
// JSON line each on stdout and exit when their stdin closes, so their connections stay open (and
// visible to `ss`) until the test is done looking.
import { spawn, type ChildProcess } from 'node:child_process';
import { inCgroupArgv } from './envoy_process';

/** One exchange the application made: where it went and the sha256 of what it sent and got back. */
export interface AppExchange {
  port: number;
  localPort: number;
  bytes: number;
  sentSha256: string;
  receivedSha256: string;
}

const APP_SCRIPT = `
const net = require('net'); const crypto = require('crypto');
const targets = JSON.parse(process.argv[1]);
const open = [];
function exchange(port, bytes) {
  return new Promise((resolve, reject) => {
    const payload = crypto.randomBytes(bytes);
    const s = net.connect({ host: '127.0.0.1', port });
    const parts = []; let got = 0;
    s.on('error', reject);
    s.on('connect', () => { for (let o = 0; o < bytes; o += 16384) s.write(payload.subarray(o, o + 16384)); });
    s.on('data', (d) => {
      parts.push(d); got += d.length;
      if (got >= bytes) {
        open.push(s);
        const sha = (b) => crypto.createHash('sha256').update(b).digest('hex');
        resolve({ port, localPort: s.localPort, bytes, sentSha256: sha(payload), receivedSha256: sha(Buffer.concat(parts)) });
      }
    });
    s.on('end', () => reject(new Error('ended after ' + got + ' of ' + bytes + ' bytes')));
  });
}
(async () => {
  const out = [];
  for (const t of targets) out.push(await exchange(t.port, t.bytes));
  process.stdout.write(JSON.stringify(out) + '\\n');
})().catch((e) => { process.stderr.write(String(e && e.stack || e) + '\\n'); process.exit(1); });
process.stdin.on('data', () => {});
process.stdin.on('end', () => { for (const s of open) s.destroy(); process.exit(0); });
`;

const ECHO_SCRIPT = `
const net = require('net');
const server = net.createServer({ allowHalfOpen: true }, (s) => { s.on('error', () => s.destroy()); s.pipe(s); });
server.listen(0, '127.0.0.1', () => process.stdout.write(JSON.stringify({ port: server.address().port }) + '\\n'));
process.stdin.on('data', () => {});
process.stdin.on('end', () => process.exit(0));
`;

/** A node child that prints one JSON line, then lives until stop(). */
export class NodeChild<T> {
  private stdout = '';
  private stderr = '';
  private readonly exited: Promise<number | null>;
  readonly result: Promise<T>;

  private constructor(private readonly child: ChildProcess) {
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
    this.result = new Promise<T>((resolve, reject) => {
      child.stdout?.on('data', (d: Buffer) => {
        this.stdout += d.toString();
        const nl = this.stdout.indexOf('\n');
        if (nl >= 0) resolve(JSON.parse(this.stdout.slice(0, nl)) as T);
      });
      child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
      child.on('exit', (code) => reject(new Error(`child exited (${code}) before its result: ${this.stderr}`)));
    });
    this.result.catch(() => undefined); // a caller that never awaits it must not see an unhandled rejection
  }

  static start<T>(script: string, args: string[], cgroup?: string): NodeChild<T> {
    const node = [process.execPath, '-e', script, ...args];
    const argv = cgroup ? inCgroupArgv(cgroup, node) : node;
    return new NodeChild<T>(spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] }));
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Closes stdin (the child closes its sockets and exits); SIGKILL if it does not within 5 s. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.stdin?.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
  }
}

/** The application: connects to each target in turn, sends `bytes` random bytes and reads the echo. */
export function startApp(targets: { port: number; bytes: number }[], cgroup?: string): NodeChild<AppExchange[]> {
  return NodeChild.start<AppExchange[]>(APP_SCRIPT, [JSON.stringify(targets)], cgroup);
}

/** A plain echo server on 127.0.0.1 (an ephemeral port, reported in the result). */
export function startEchoChild(cgroup?: string): NodeChild<{ port: number }> {
  return NodeChild.start<{ port: number }>(ECHO_SCRIPT, [], cgroup);
}
