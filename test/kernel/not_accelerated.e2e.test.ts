// Traffic that must not be accelerated still works and is not accelerated, through a real
// envoy-ts process (libbpf build, sockmap selected, no cgroup_path): only IPv4 stream sockets go
// into the sockhash; IPv6 and IPv4-mapped IPv6 sockets are left on the standard datapath.
//
// Unix domain sockets: envoy-ts listeners and clusters only take socket_address (IP) addresses, so
// no envoy-ts socket can be a Unix socket; test/kernel/datapath.test.ts ("4. IPv6, v4-mapped and
// Unix sockets ...") covers them at the datapath level (registerSocket says not_ipv4, traffic
// intact). A connection to a port outside accelerated_ports is covered end to end in
// app_to_proxy.e2e.test.ts.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { proxyBootstrap } from '../support/bootstraps';
import { uniquePinDir } from '../support/bpffs';
import { bpfObjectPath, EnvoyProcess, fetchStats, statsDelta } from '../support/envoy_process';
import { echoExchange, freePort, sha256, startEchoServer, tcpSocketsOnPort } from '../support/net_tools';
import { describeKernel } from '../support/privileges';

const PAYLOAD = 1 << 20;
const CONNECTIONS = 3;

interface Case {
  name: string;
  /** Where envoy listens, where the client connects, where the echo listens, where envoy connects. */
  listen: string;
  connect: string;
  echoListen: string;
  upstream: string;
}

const CASES: Case[] = [
  { name: 'IPv6 ::1 both hops', listen: '::1', connect: '::1', echoListen: '::1', upstream: '::1' },
  // A dual-stack '::' listener accepts 127.0.0.1 as an AF_INET6 socket (::ffff:127.0.0.1); the upstream
  // connect to ::ffff:127.0.0.1 is an AF_INET6 socket too.
  { name: 'IPv4-mapped IPv6 both hops', listen: '::', connect: '127.0.0.1', echoListen: '::', upstream: '::ffff:127.0.0.1' },
];

describeKernel('non-IPv4 traffic through envoy-ts is not accelerated and still works', () => {
  let pinDir = '';
  let echo: Awaited<ReturnType<typeof startEchoServer>> | undefined;
  let envoy: EnvoyProcess | undefined;

  beforeEach(() => {
    pinDir = uniquePinDir('notv4');
  });

  afterEach(async () => {
    await envoy?.stop();
    envoy = undefined;
    await echo?.close();
    echo = undefined;
    fs.rmSync(pinDir, { recursive: true, force: true });
  });

  test.each(CASES)('$name: byte-exact, skipped_not_ipv4, nothing registered or redirected', async (c) => {
    echo = await startEchoServer(c.echoListen);
    const [listenPort, adminPort] = [await freePort(), await freePort()];
    const sockmap = { bpf_program_path: bpfObjectPath(), pin_path: pinDir };
    envoy = EnvoyProcess.start(
      'libbpf',
      proxyBootstrap({ listenPort, listenAddress: c.listen, upstreamPort: echo.port, upstreamAddress: c.upstream, adminPort, sockmap }),
    );
    await envoy.waitReady(adminPort);
    expect(envoy.log).toContain(`sockmap acceleration enabled using ${bpfObjectPath()}`);
    const before = await fetchStats(adminPort);

    const open = [];
    try {
      for (let i = 0; i < CONNECTIONS; i++) {
        const payload = crypto.randomBytes(PAYLOAD);
        const { socket, received } = await echoExchange(listenPort, payload, c.connect);
        open.push(socket);
        expect(sha256(received)).toBe(sha256(payload));
      }
      const d = statsDelta(before, await fetchStats(adminPort));
      // Each connection: the accepted socket and the upstream socket were skipped.
      expect(d['sockmap.skipped_not_ipv4']).toBe(2 * CONNECTIONS);
      expect(d['sockmap.registered']).toBe(0);
      expect(d['sockmap.registration_failed']).toBe(0);
      expect(d['sockmap.kernel.bytes_redirected']).toBe(0);
      expect(d['sockmap.kernel.msgs_redirected']).toBe(0);

      // The kernel carried every byte over TCP on both hops.
      const downstream = tcpSocketsOnPort(listenPort);
      const upstream = tcpSocketsOnPort(echo.port);
      expect(downstream).toHaveLength(2 * CONNECTIONS);
      expect(upstream).toHaveLength(2 * CONNECTIONS);
      expect([...downstream, ...upstream].every((s) => s.dataSegsIn > 0 && s.dataSegsOut > 0)).toBe(true);
      const bytes = (sockets: typeof downstream) => sockets.filter((s) => s.local.endsWith(`:${listenPort}`)).reduce((n, s) => n + s.bytesReceived, 0);
      expect(bytes(downstream)).toBe(CONNECTIONS * PAYLOAD);
      console.log(`${c.name}: ${JSON.stringify({ skipped: d['sockmap.skipped_not_ipv4'], sample: downstream[0] })}`);
    } finally {
      for (const s of open) s.destroy();
    }
  });
});
