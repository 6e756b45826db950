// Application-to-proxy hops through a test cgroup, through a real envoy-ts process (libbpf build).
//
// Layout (everything on 127.0.0.1):
//   [cgroup]  app (node child) --A--> envoy-ts listener   envoy-ts --U--> upstream echo [test process]
//   [cgroup]  app (node child) --D--> echo child (a plain echo server, also in the cgroup)
// envoy-ts runs with cgroup_path = the test cgroup and register_user_space_sockets: false, and is
// started inside that cgroup, so its listener (and the sockets it accepts) belong to it; only the
// sock_ops program puts sockets in the sockhash.
//
// Which hops are accelerated:
// - A (app <-> envoy): both ends in the cgroup, both added at ESTABLISHED, before the first byte:
//   redirected both ways, no payload segment over TCP.
// - U (envoy <-> upstream): only envoy's end is in the cgroup (the upstream is the test process):
//   envoy's sends find no peer (msgs_passed_peer_absent), so U is plain TCP.
// - D (app <-> echo child): both ends in the cgroup: redirected both ways without accelerated_ports,
//   and not even added with accelerated_ports scoped to envoy's listener port.
import * as fs from 'node:fs';
import { proxyBootstrap } from '../support/bootstraps';
import { createTestCgroup, uniquePinDir } from '../support/bpffs';
import { bpfObjectPath, EnvoyProcess, fetchStatsOwnConnection, statsDelta } from '../support/envoy_process';
import { freePort, startEchoServer, tcpSocketsOnPort, type TcpSocketInfo } from '../support/net_tools';
import { startApp, startEchoChild, type NodeChild } from '../support/node_children';
import { describeKernel } from '../support/privileges';

const PAYLOAD = 1 << 20;

function payloadSegments(sockets: TcpSocketInfo[]): number {
  return sockets.reduce((n, s) => n + s.dataSegsIn + s.dataSegsOut, 0);
}

describeKernel('application-to-proxy acceleration through a cgroup (envoy-ts process)', () => {
  let cgroup: { path: string; remove: () => void } | undefined;
  let pinDir = '';
  let upstream: Awaited<ReturnType<typeof startEchoServer>> | undefined;
  let envoy: EnvoyProcess | undefined;
  const children: NodeChild<unknown>[] = [];

  beforeEach(async () => {
    cgroup = createTestCgroup('app');
    pinDir = uniquePinDir('app');
    upstream = await startEchoServer();
  });

  afterEach(async () => {
    for (const c of children.splice(0)) await c.stop();
    await envoy?.stop();
    envoy = undefined;
    await upstream?.close();
    fs.rmSync(pinDir, { recursive: true, force: true });
    cgroup?.remove();
    cgroup = undefined;
  });

  async function startEnvoyInCgroup(listenPort: number, adminPort: number, extra: Record<string, unknown> = {}): Promise<EnvoyProcess> {
    const cg = cgroup!.path;
    const sockmap = { bpf_program_path: bpfObjectPath(), pin_path: pinDir, cgroup_path: cg, register_user_space_sockets: false, ...extra };
    envoy = EnvoyProcess.start('libbpf', proxyBootstrap({ listenPort, upstreamPort: upstream!.port, adminPort, sockmap }), [], { cgroup: cg });
    await envoy.waitReady(adminPort);
    expect(envoy.log).toContain(`sockmap acceleration enabled using ${bpfObjectPath()}`);
    expect(fs.readFileSync(`${cg}/cgroup.procs`, 'utf8').split('\n')).toContain(String(envoy.pid));
    return envoy;
  }

  /** Starts the plain echo child and the app in the cgroup; the app talks to envoy, then to the echo child. */
  async function runApp(listenPort: number) {
    const echoChild = startEchoChild(cgroup!.path);
    children.push(echoChild);
    const { port: directPort } = await echoChild.result;
    const app = startApp(
      [
        { port: listenPort, bytes: PAYLOAD },
        { port: directPort, bytes: PAYLOAD },
      ],
      cgroup!.path,
    );
    children.push(app);
    const [viaEnvoy, direct] = await app.result;
    // Byte-exact on the application side.
    expect(viaEnvoy.receivedSha256).toBe(viaEnvoy.sentSha256);
    expect(direct.receivedSha256).toBe(direct.sentSha256);
    return { directPort };
  }

  test('without accelerated_ports: app<->envoy and app<->echo child are redirected, envoy->upstream is TCP', async () => {
    const [listenPort, adminPort] = [await freePort(), await freePort()];
    await startEnvoyInCgroup(listenPort, adminPort);
    const before = await fetchStatsOwnConnection(adminPort);

    const { directPort } = await runApp(listenPort);

    const d = statsDelta(before, await fetchStatsOwnConnection(adminPort));
    // sock_ops additions: A both ends (2) + envoy's end of U (1) + D both ends (2) + the admin
    // connection of this second stats request, which envoy accepted inside the cgroup (1).
    expect(d['sockmap.kernel.sockops_added']).toBe(6);
    expect(d['sockmap.kernel.sockops_add_failed']).toBe(0);
    // Redirected: A and D, both directions, every byte; nothing else.
    expect(d['sockmap.kernel.bytes_redirected']).toBe(4 * PAYLOAD);
    // envoy's sends on U found no peer in the sockhash: passed to TCP.
    expect(d['sockmap.kernel.msgs_passed_peer_absent']).toBeGreaterThan(0);
    expect(d['sockmap.registered']).toBe(0); // register_user_space_sockets: false

    const hopA = tcpSocketsOnPort(listenPort);
    const hopU = tcpSocketsOnPort(upstream!.port);
    const hopD = tcpSocketsOnPort(directPort);
    console.log(`no ports: segments A=${payloadSegments(hopA)} U=${payloadSegments(hopU)} D=${payloadSegments(hopD)}; delta ${JSON.stringify(d)}`);
    expect(hopA).toHaveLength(2);
    expect(payloadSegments(hopA)).toBe(0);
    expect(hopD).toHaveLength(2);
    expect(payloadSegments(hopD)).toBe(0);
    expect(hopU).toHaveLength(2);
    expect(hopU.every((s) => s.dataSegsIn > 0 && s.dataSegsOut > 0)).toBe(true);
  });

  test('accelerated_ports = [listener port]: only app<->envoy is added; app<->echo child stays on TCP, byte-exact', async () => {
    const [listenPort, adminPort] = [await freePort(), await freePort()];
    await startEnvoyInCgroup(listenPort, adminPort, { accelerated_ports: [{ start: listenPort, end: listenPort + 1 }] });
    const before = await fetchStatsOwnConnection(adminPort);

    const { directPort } = await runApp(listenPort);

    const d = statsDelta(before, await fetchStatsOwnConnection(adminPort));
    // Only both ends of A: not envoy's end of U, not D, not the admin connection (ports outside the range).
    expect(d['sockmap.kernel.sockops_added']).toBe(2);
    expect(d['sockmap.kernel.bytes_redirected']).toBe(2 * PAYLOAD);
    expect(d['sockmap.kernel.msgs_passed_peer_absent']).toBe(0); // nothing on U or D ran the program
    expect(d['sockmap.registered']).toBe(0);

    const hopA = tcpSocketsOnPort(listenPort);
    const hopD = tcpSocketsOnPort(directPort);
    console.log(`ports [${listenPort}, ${listenPort + 1}): segments A=${payloadSegments(hopA)} D=${payloadSegments(hopD)}; delta ${JSON.stringify(d)}`);
    expect(hopA).toHaveLength(2);
    expect(payloadSegments(hopA)).toBe(0);
    expect(hopD).toHaveLength(2);
    expect(hopD.every((s) => s.dataSegsIn > 0 && s.dataSegsOut > 0)).toBe(true);
  });
});
