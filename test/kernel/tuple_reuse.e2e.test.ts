// A later connection that reuses the exact 4-tuple of an earlier, registered one is never
// redirected into a stale sockhash entry.
//
// The tuple has to be forced, which only works on a hop whose client port the test chooses: the
// A->B hop of a chain gets a kernel-chosen port. So the hop under test is client -> envoy B, where
// B registers its accepted socket (register_user_space_sockets) and the test process registers the
// client socket itself, in the same pinned sockhash (BpfDatapath opened on B's pin_path), exactly
// as a proxy A would. The client binds a fixed local port. The SERVER side closes first (the
// upstream ends after echoing, B propagates the end), so TIME_WAIT sits on B's side and the client
// port is free for the next connect, which the kernel accepts over the TIME_WAIT (checked).
//
//   connection 1 (both ends registered): byte-exact both ways, every byte redirected;
//   in between: bpftool shows neither end's key in the sockhash (the map is empty);
//   connection 2 (same tuple, both ends registered again): byte-exact, every byte redirected;
//   connection 3 (same tuple, client NOT registered): B's end is in the map, the client's key is
//   absent, so B's sends find no peer and go over TCP: msgs_redirected +0, bytes intact.
//
// The second test runs the same sequence with no proxy at all: both ends are test sockets
// registered through BpfDatapath, the server unregistering and closing first.
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import type { Logger } from '../../src/common/logger';
import { BpfDatapath } from '../../src/extensions/network/socket_interface/sockmap/datapath';
import { encodeTuple, peerTuple, readSocketTuple } from '../../src/extensions/network/socket_interface/sockmap/key';
import { proxyBootstrap } from '../support/bootstraps';
import { uniquePinDir } from '../support/bpffs';
import { eventually } from '../support/bpftool';
import { bpfObjectPath, EnvoyProcess } from '../support/envoy_process';
import { freePort, sha256 } from '../support/net_tools';
import { describeKernel } from '../support/privileges';
import { sockhashKeys } from '../support/sockhash';
import { fdOf, runCleanups } from './helpers';

const PAYLOAD = 1 << 20;

const quiet: Logger = { critical: () => undefined, error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined, trace: () => undefined };

function openDatapath(pinPath: string): BpfDatapath {
  // sockhash_max_entries must match the pinned map (envoy-ts's default, 65536).
  return BpfDatapath.open({ bpfProgramPath: bpfObjectPath(), cgroupPath: '', sockhashMaxEntries: 65536, acceleratedPorts: [], pinPath, attachCgroup: false }, quiet);
}

/** An upstream that echoes and, once it echoed `bytes`, ends its side first. */
async function startEchoThenEnd(bytes: number): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    let echoed = 0;
    s.on('data', (d: Buffer) => {
      echoed += d.length;
      s.write(d);
      if (echoed >= bytes) s.end();
    });
    s.on('end', () => s.end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

interface ConnectionResult {
  localPort: number;
  clientKey: string;
  serverKey: string;
  /** Sockhash keys (bpftool) right after both ends were (or were not) registered. */
  keysDuring: string[];
  echoedExact: boolean;
  delta: Record<string, number>;
}

/**
 * One connection from 127.0.0.1:clientPort to serverPort: optionally registers the client socket,
 * waits for the server's end to be in the sockhash, sends PAYLOAD and reads the echo until the
 * server ends (the server closes first), then unregisters and closes the client.
 */
async function converse(dp: BpfDatapath, pinDir: string, serverPort: number, clientPort: number, registerClient: boolean): Promise<ConnectionResult> {
  const socket = net.connect({ host: '127.0.0.1', port: serverPort, localAddress: '127.0.0.1', localPort: clientPort, allowHalfOpen: true });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const fd = fdOf(socket);
  const tuple = readSocketTuple(fd);
  if (!tuple) throw new Error('client socket has no IPv4 tuple');
  const clientKey = encodeTuple(tuple).toString('hex');
  const serverKey = encodeTuple(peerTuple(tuple)).toString('hex');
  if (registerClient) expect(dp.registerSocket(fd)).toBe('registered');
  expect(await dp.waitForPeer(fd, 2000)).toBe(true); // the server's end is registered
  const keysDuring = sockhashKeys(pinDir);

  const before = dp.counters();
  const payload = crypto.randomBytes(PAYLOAD);
  const parts: Buffer[] = [];
  socket.on('data', (d: Buffer) => parts.push(d));
  const closed = new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.once('close', () => resolve());
  });
  const ended = new Promise<void>((resolve) => socket.once('end', resolve));
  socket.write(payload);
  await ended; // the server sent its FIN first
  if (registerClient) dp.unregisterSocket(fd); // as the proxy does: unregister, then close
  socket.end();
  await closed;
  return {
    localPort: tuple.localPort,
    clientKey,
    serverKey,
    keysDuring,
    echoedExact: sha256(Buffer.concat(parts)) === sha256(payload),
    delta: Object.fromEntries(Object.entries(dp.counters()).map(([k, v]) => [k, v - (before[k] ?? 0)])),
  };
}

/** TIME_WAIT sockets of the tuple on the server's side (the side that closed first keeps one). */
function timeWaits(serverPort: number, clientPort: number): number {
  const out = execFileSync('ss', ['-tanH', 'state', 'time-wait', `( sport = :${serverPort} and dport = :${clientPort} )`], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.trim()).length;
}

/** Connections 1..3 on one tuple, with the stale-entry checks in between. */
async function reuseSequence(label: string, dp: BpfDatapath, pinDir: string, serverPort: number): Promise<void> {
  const clientPort = await freePort();
  const noEntryFor = async (r: ConnectionResult): Promise<string[]> => {
    let keys: string[] = [];
    await eventually(() => (keys = sockhashKeys(pinDir)).length === 0, 3000);
    return keys.filter((k) => k === r.clientKey || k === r.serverKey);
  };

  const c1 = await converse(dp, pinDir, serverPort, clientPort, true);
  expect(c1.localPort).toBe(clientPort);
  expect(c1.keysDuring).toEqual(expect.arrayContaining([c1.clientKey, c1.serverKey]));
  expect(c1.echoedExact).toBe(true);
  expect(c1.delta.bytes_redirected).toBe(2 * PAYLOAD);

  expect(await noEntryFor(c1)).toEqual([]);
  expect(sockhashKeys(pinDir)).toEqual([]);
  const tw1 = timeWaits(serverPort, clientPort);
  expect(tw1).toBeGreaterThan(0); // the server closed first; the client port is free

  const c2 = await converse(dp, pinDir, serverPort, clientPort, true);
  expect([c2.localPort, c2.clientKey, c2.serverKey]).toEqual([clientPort, c1.clientKey, c1.serverKey]); // the exact same key
  expect(c2.keysDuring.filter((k) => k === c2.clientKey || k === c2.serverKey).length).toBe(2);
  expect(c2.echoedExact).toBe(true);
  expect(c2.delta.bytes_redirected).toBe(2 * PAYLOAD);

  expect(await noEntryFor(c2)).toEqual([]);
  const c3 = await converse(dp, pinDir, serverPort, clientPort, false);
  expect([c3.localPort, c3.clientKey]).toEqual([clientPort, c1.clientKey]);
  expect(c3.keysDuring).toContain(c3.serverKey); // the server's end is registered ...
  expect(c3.keysDuring).not.toContain(c3.clientKey); // ... and nothing holds the client's key
  expect(c3.echoedExact).toBe(true);
  expect(c3.delta.msgs_redirected).toBe(0);
  expect(c3.delta.bytes_redirected).toBe(0);
  // The server end's sk_msg looked the client's key up and found nothing: one more "peer absent"
  // than connection 2 had (envoy B's upstream socket, whose echo server is not registered, adds
  // one to every connection through the proxy).
  expect(c3.delta.msgs_passed_peer_absent).toBeGreaterThan(c2.delta.msgs_passed_peer_absent);
  expect(await noEntryFor(c3)).toEqual([]);

  console.log(
    `${label}: tuple 127.0.0.1:${clientPort} <-> 127.0.0.1:${serverPort} used 3 times (TIME_WAIT on the server side after #1: ${tw1}); ` +
      `#1 registered: ${c1.delta.bytes_redirected} B redirected; #2 registered: ${c2.delta.bytes_redirected} B redirected; ` +
      `#3 unregistered client: ${c3.delta.bytes_redirected} B redirected, msgs_redirected +${c3.delta.msgs_redirected}, ` +
      `peer absent +${c3.delta.msgs_passed_peer_absent} (vs +${c2.delta.msgs_passed_peer_absent} for #2); all byte-exact; sockhash empty between connections`,
  );
}

describeKernel('a reused 4-tuple is never redirected into a stale sockhash entry', () => {
  const cleanups: (() => unknown)[] = [];

  afterAll(async () => {
    await runCleanups(cleanups);
  });

  test('client -> envoy B: the same tuple three times (registered, registered, plain TCP)', async () => {
    const pinDir = uniquePinDir('tuple-envoy');
    cleanups.push(() => fs.rmSync(pinDir, { recursive: true, force: true }));
    const upstream = await startEchoThenEnd(PAYLOAD);
    cleanups.push(() => upstream.close());
    const [portB, adminB] = [await freePort(), await freePort()];
    const b = EnvoyProcess.start('libbpf', proxyBootstrap({ listenPort: portB, upstreamPort: upstream.port, adminPort: adminB, sockmap: { bpf_program_path: bpfObjectPath(), pin_path: pinDir } }));
    cleanups.push(() => b.stop());
    await b.waitReady(adminB);
    expect(b.log).toContain(`sockmap acceleration enabled using ${bpfObjectPath()}`);
    const dp = openDatapath(pinDir); // B started first and owns the sk_msg link; this shares its maps
    cleanups.push(() => dp.close());
    await reuseSequence('client -> envoy B', dp, pinDir, portB);
  });

  test('datapath only: both ends are test sockets, the server unregisters and closes first', async () => {
    const pinDir = uniquePinDir('tuple-dp');
    const dp = openDatapath(pinDir);
    cleanups.push(() => {
      dp.close();
      dp.unpin();
      fs.rmSync(pinDir, { recursive: true, force: true });
    });
    // The server registers each accepted socket before reading, echoes PAYLOAD bytes, then
    // unregisters and ends first (its TIME_WAIT frees the client port).
    const server = net.createServer({ allowHalfOpen: true }, (s) => {
      s.on('error', () => undefined);
      dp.registerSocket(fdOf(s));
      let echoed = 0;
      s.on('data', (d: Buffer) => {
        echoed += d.length;
        s.write(d);
        if (echoed >= PAYLOAD) {
          dp.unregisterSocket(fdOf(s));
          s.end();
        }
      });
      s.on('end', () => s.end());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    await reuseSequence('datapath only', dp, pinDir, (server.address() as net.AddressInfo).port);
  });
});
