// A listener published by an envoy-ts process that was killed (kill -9, no unpublish) must not make
// every later connection to that address wait: after one bounded wait the stale entry is dropped.
import * as fs from 'node:fs';
import * as net from 'node:net';
import { proxyBootstrap } from '../support/bootstraps';
import { uniquePinDir } from '../support/bpffs';
import { bpfObjectPath, EnvoyProcess, fetchStats } from '../support/envoy_process';
import { expectEchoByteExact, freePort, startEchoServer } from '../support/net_tools';
import { describeKernel } from '../support/privileges';

describeKernel('a stale published listener', () => {
  const procs: EnvoyProcess[] = [];
  const servers: { close: () => Promise<void> }[] = [];
  let pinDir = '';

  afterAll(async () => {
    for (const p of procs) await p.stop('SIGKILL');
    for (const s of servers) await s.close();
    if (pinDir) fs.rmSync(pinDir, { recursive: true, force: true });
  });

  test('is dropped after one bounded wait once its process is gone, and traffic flows', async () => {
    pinDir = uniquePinDir('stale');
    const sockmap = { bpf_program_path: bpfObjectPath(), pin_path: pinDir };
    const echo = await startEchoServer();
    servers.push(echo);
    const [portB, adminB, portA, adminA] = [await freePort(), await freePort(), await freePort(), await freePort()];

    // B publishes its listener, then dies without unpublishing it.
    const b = EnvoyProcess.start('libbpf', proxyBootstrap({ listenPort: portB, upstreamPort: echo.port, adminPort: adminB, sockmap }));
    procs.push(b);
    await b.waitReady(adminB);
    await b.stop('SIGKILL');

    // Something that is not envoy-ts now listens on B's address: it never registers its sockets.
    const plain = net.createServer((s) => s.pipe(s));
    await new Promise<void>((r) => plain.listen(portB, '127.0.0.1', r));
    servers.push({ close: () => new Promise<void>((r) => plain.close(() => r())) });

    const a = EnvoyProcess.start('libbpf', proxyBootstrap({ listenPort: portA, upstreamPort: portB, adminPort: adminA, sockmap }));
    procs.push(a);
    await a.waitReady(adminA);
    for (let i = 0; i < 5; i++) await expectEchoByteExact(portA, 64 * 1024);
    const stats = await fetchStats(adminA);
    expect(stats['sockmap.peer_wait_total']).toBe(1);
    expect(stats['sockmap.peer_wait_timeout']).toBe(1);
    expect(a.countLogLines(/was published by an envoy-ts process that is gone/)).toBe(1);
  });
});
