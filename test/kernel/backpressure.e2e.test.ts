// Backpressure through a redirected hop, through real envoy-ts processes.
//
// An ingress redirect has no backpressure in the kernel: the sender's writes are accepted however
// much waits unread in the receiver's ingress queue (up to ENOMEM, ~2 GiB; see
// ../shared/notes/kernel-facts.md). envoy-ts watches registered sockets that the proxy paused and,
// past a bound of unread bytes, sets the socket's envoy_pressure flag so that its peer's sk_msg
// passes to TCP from then on, where the window brakes the sender (socket_interface.ts watchPressure).
//
// Chain: client -> A -> B -> slow upstream, A and B share one pin dir, so the A->B hop is
// redirected. The upstream reads 64 KiB, stops reading for 2 s, then reads everything. The client
// writes 64 MiB as fast as A takes it (respecting its own write() backpressure). Without the
// pressure fallback A's writes to B never block, A never pauses the client, and the whole 64 MiB
// would be swallowed into B's ingress queue during the pause.
//
// The pressure check reads FIONREAD. Checked by hand on this kernel (6.18): for a socket in the
// sockhash, FIONREAD counts the sockmap ingress queue (1 MiB redirected and unread -> 1048576), so
// B sees the redirected backlog. Seen here: B sets pressure once, the client stalls at ~17-19 MiB
// accepted for the rest of the pause, ~9-11 MiB went by redirect before the switch.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { uniquePinDir } from '../support/bpffs';
import { startChain } from '../support/chain';
import { EnvoyProcess, fetchStats } from '../support/envoy_process';
import { sha256 } from '../support/net_tools';
import { describeKernel } from '../support/privileges';

const TOTAL = 64 * 1024 * 1024;
const CHUNK = 64 * 1024;
const READ_BEFORE_PAUSE = 64 * 1024;
const PAUSE_MS = 2000;

interface SlowSink {
  port: number;
  /** When the sink stopped reading (ms since epoch); 0 until then. */
  pausedAt: () => number;
  /** Resolves when the upstream connection ended, with every byte received, in order. */
  received: Promise<Buffer>;
  close: () => Promise<void>;
}

/** An upstream that reads READ_BEFORE_PAUSE bytes, stops reading for PAUSE_MS, then reads to the end. */
async function startSlowSink(onPause: () => void, onResume: () => void): Promise<SlowSink> {
  let pausedAt = 0;
  const sockets = new Set<net.Socket>();
  let resolveReceived: (b: Buffer) => void = () => undefined;
  let rejectReceived: (e: Error) => void = () => undefined;
  const received = new Promise<Buffer>((resolve, reject) => {
    resolveReceived = resolve;
    rejectReceived = reject;
  });
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    const parts: Buffer[] = [];
    let got = 0;
    s.on('data', (d: Buffer) => {
      parts.push(d);
      got += d.length;
      if (pausedAt === 0 && got >= READ_BEFORE_PAUSE) {
        pausedAt = Date.now();
        s.pause();
        onPause();
        setTimeout(() => {
          onResume();
          s.resume();
        }, PAUSE_MS);
      }
    });
    s.on('end', () => {
      resolveReceived(Buffer.concat(parts));
      s.end();
    });
    s.on('error', (e) => rejectReceived(e));
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    pausedAt: () => pausedAt,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Writes `data` in CHUNK writes, waiting for 'drain' whenever write() says the buffer is full. */
function writeAll(socket: net.Socket, data: Buffer, progress: { queued: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    const next = (): void => {
      while (progress.queued < data.length) {
        const end = Math.min(progress.queued + CHUNK, data.length);
        const more = socket.write(data.subarray(progress.queued, end));
        progress.queued = end;
        if (!more) {
          socket.once('drain', next);
          return;
        }
      }
      socket.end(() => resolve());
    };
    next();
  });
}

describeKernel('backpressure through a redirected hop: the pressure fallback brakes the sender', () => {
  const procs: EnvoyProcess[] = [];
  let pinDir = '';
  let sink: SlowSink | undefined;
  let client: net.Socket | undefined;

  beforeEach(() => {
    pinDir = uniquePinDir('pressure');
  });

  afterEach(async () => {
    client?.destroy();
    for (const p of procs.splice(0)) await p.stop();
    await sink?.close();
    fs.rmSync(pinDir, { recursive: true, force: true });
  });

  test('64 MiB into a paused upstream: in order, pressure_fallback on B, and the client is braked', async () => {
    const progress = { queued: 0 };
    // Bytes the client's kernel accepted (queued minus what node still buffers) at points of the pause.
    const accepted = (): number => progress.queued - (client?.writableLength ?? 0);
    const samples: { at: string; accepted: number }[] = [];
    let latePause: NodeJS.Timeout | undefined;
    sink = await startSlowSink(
      () => {
        samples.push({ at: 'pause', accepted: accepted() });
        latePause = setTimeout(() => samples.push({ at: 'pause+1000ms', accepted: accepted() }), 1000);
      },
      () => samples.push({ at: `resume (pause+${PAUSE_MS}ms)`, accepted: accepted() }),
    );

    const { portA, adminA, adminB } = await startChain({ upstreamPort: sink.port, pinDir, procs });
    const before = await fetchStats(adminB);

    const data = crypto.randomBytes(TOTAL);
    client = net.connect({ host: '127.0.0.1', port: portA });
    client.on('data', () => undefined); // the sink sends nothing; consume an eventual FIN
    await new Promise<void>((resolve, reject) => {
      client!.once('connect', resolve);
      client!.once('error', reject);
    });
    const started = Date.now();
    await writeAll(client, data, progress);
    const writeMs = Date.now() - started;
    const received = await sink.received;
    clearTimeout(latePause);

    const statsA = await fetchStats(adminA);
    const statsB = await fetchStats(adminB);
    console.log(
      `client wrote ${TOTAL} B in ${writeMs} ms; accepted by the kernel: ${JSON.stringify(samples)}; ` +
        `B pressure_fallback ${statsB['sockmap.pressure_fallback']}, A pressure_fallback ${statsA['sockmap.pressure_fallback']}; ` +
        `kernel: redirected ${statsB['sockmap.kernel.bytes_redirected'] - before['sockmap.kernel.bytes_redirected']} B, ` +
        `msgs_passed_pressure ${statsB['sockmap.kernel.msgs_passed_pressure']}, msgs_passed_unsafe ${statsB['sockmap.kernel.msgs_passed_unsafe']}`,
    );

    // Every byte, in order.
    expect(received.length).toBe(TOTAL);
    expect(sha256(received)).toBe(sha256(data));
    // The hop was redirected at first, then B flagged pressure and A's sends went to TCP.
    expect(statsB['sockmap.kernel.bytes_redirected'] - before['sockmap.kernel.bytes_redirected']).toBeGreaterThan(0);
    expect(statsB['sockmap.pressure_fallback']).toBeGreaterThanOrEqual(1);
    expect(statsB['sockmap.kernel.msgs_passed_pressure']).toBeGreaterThanOrEqual(1);
    // Backpressure reached the client: by the end of the pause it had not got rid of its 64 MiB,
    // and during the second half of the pause it was (nearly) stalled.
    const at = (label: string): number => samples.find((s) => s.at.startsWith(label))?.accepted ?? NaN;
    expect(samples).toHaveLength(3);
    expect(at('resume')).toBeLessThan(TOTAL / 2);
    expect(at('resume') - at('pause+1000ms')).toBeLessThan(1024 * 1024);
  }, 60000);
});
