// Proxy-to-proxy acceleration across two envoy-ts processes sharing one pinned sockhash:
// client -> proxy A -> proxy B -> upstream echo, no cgroup_path. Evidence comes from the kernel:
// `ss -tin` shows no payload segment over TCP on the A<->B hop, and the programs' counters grow.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import type * as net from 'node:net';
import { bpfObjectPath, EnvoyProcess, fetchStats } from '../support/envoy_process';
import { uniquePinDir } from '../support/bpffs';
import { startChain } from '../support/chain';
import { echoExchange, sha256, startEchoServer, tcpSocketsOnPort } from '../support/net_tools';
import { describeKernel } from '../support/privileges';

const CONNECTIONS = Number(process.env.CHAIN_CONNECTIONS ?? 300);
const PAYLOAD = 64 * 1024;

describeKernel('proxy-to-proxy acceleration across two processes', () => {
  let echo: Awaited<ReturnType<typeof startEchoServer>>;
  const procs: EnvoyProcess[] = [];
  let pinDir: string;

  beforeAll(async () => {
    echo = await startEchoServer();
    pinDir = uniquePinDir('chain');
  });

  afterAll(async () => {
    for (const p of procs) await p.stop();
    await echo?.close();
    fs.rmSync(pinDir, { recursive: true, force: true });
  });

  async function runChain(bArgs: string[]): Promise<void> {
    const { a, portA, portB, adminA, adminB } = await startChain({ upstreamPort: echo.port, pinDir, procs, bArgs });
    expect(a.log).toContain(`sockmap acceleration enabled using ${bpfObjectPath()}`);

    const open: net.Socket[] = [];
    try {
      for (let i = 0; i < CONNECTIONS; i++) {
        const payload = crypto.randomBytes(PAYLOAD);
        const { socket, received } = await echoExchange(portA, payload);
        expect(sha256(received)).toBe(sha256(payload));
        open.push(socket);
      }
      // Every A<->B connection is still open: read each one's TCP payload counters from the kernel.
      const hop = tcpSocketsOnPort(portB).filter((s) => s.local.endsWith(`:${portB}`));
      expect(hop.length).toBe(CONNECTIONS);
      const onTcp = hop.filter((s) => s.dataSegsIn > 0 || s.dataSegsOut > 0);
      const accelerated = CONNECTIONS - onTcp.length;
      console.log(`A->B hop (B ${bArgs.join(' ') || 'single process'}): ${accelerated}/${CONNECTIONS} connections carried no payload over TCP/IP in either direction`);
      const statsA0 = await fetchStats(adminA);
      console.log(`peer waits: ${statsA0['sockmap.peer_wait_total']}, timeouts: ${statsA0['sockmap.peer_wait_timeout']}, unsafe: ${statsA0['sockmap.kernel.msgs_passed_unsafe']}, pressure: ${statsA0['sockmap.kernel.msgs_passed_pressure']}`);
      expect(accelerated / CONNECTIONS).toBeGreaterThanOrEqual(0.99);

      const statsA = await fetchStats(adminA);
      const statsB = await fetchStats(adminB);
      expect(statsA['sockmap.kernel.bytes_redirected']).toBeGreaterThanOrEqual(accelerated * PAYLOAD * 2);
      expect(statsA['sockmap.registered']).toBeGreaterThanOrEqual(CONNECTIONS * 2);
      // B registers what it accepts from A; its upstream (a plain echo server) cannot be accelerated.
      expect(statsB['sockmap.registered']).toBeGreaterThanOrEqual(CONNECTIONS);
      expect(statsB['sockmap.skipped_upstream_no_peer']).toBeGreaterThanOrEqual(CONNECTIONS);
    } finally {
      for (const s of open) s.destroy();
      for (const p of procs.splice(0)) await p.stop();
    }
  }

  test('A->B hop is redirected in both directions for >= 99% of connections, byte-exact', async () => {
    await runChain([]);
  });

  test('the same with B running two workers (sockets handed to workers are duplicated)', async () => {
    await runChain(['--concurrency', '2']);
  });
});
