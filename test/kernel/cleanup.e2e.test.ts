// Nothing is left behind by an envoy-ts process (libbpf build, cgroup_path = a test cgroup, a unique
// pin_path): after SIGTERM, and after kill -9, its envoy_sockops / envoy_sk_msg programs and its
// BPF links are gone and the cgroup has no attachment. The pinned maps stay by design (they are
// shared between processes; the test removes the pin dir), but they must not keep a program alive:
// the sk_msg program is attached to the pinned sockhash through a link, not with bpf_prog_attach.
//
// Other processes on the host may load programs with the same names, so this process's objects are
// identified by what ties them to this test: the sock_ops program attached to the test cgroup, the
// sk_msg program whose maps include the test's pinned sockhash, and the links of those programs.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { proxyBootstrap } from '../support/bootstraps';
import { createTestCgroup, uniquePinDir } from '../support/bpffs';
import { bpfLinks, bpfProgs, cgroupAttachments, eventually, pinnedMapId } from '../support/bpftool';
import { bpfObjectPath, EnvoyProcess, fetchStats } from '../support/envoy_process';
import { echoExchange, freePort, sha256, startEchoServer } from '../support/net_tools';
import { describeKernel } from '../support/privileges';

interface Footprint {
  sockopsProg: number;
  skMsgProg: number;
  links: number[];
  sockhashId: number;
}

describeKernel('envoy-ts leaves no program, link or cgroup attachment behind', () => {
  let cgroup: { path: string; remove: () => void } | undefined;
  let pinDir = '';
  let echo: Awaited<ReturnType<typeof startEchoServer>> | undefined;
  let envoy: EnvoyProcess | undefined;

  beforeEach(async () => {
    cgroup = createTestCgroup('cleanup');
    pinDir = uniquePinDir('cleanup');
    echo = await startEchoServer();
  });

  afterEach(async () => {
    await envoy?.stop('SIGKILL');
    envoy = undefined;
    await echo?.close();
    fs.rmSync(pinDir, { recursive: true, force: true });
    cgroup?.remove();
    cgroup = undefined;
  });

  /** Starts envoy-ts, proxies through it (sockets registered, psocks created), returns its footprint. */
  async function startAndFindFootprint(): Promise<{ footprint: Footprint; client: { destroy(): void } }> {
    const [listenPort, adminPort] = [await freePort(), await freePort()];
    const sockmap = { bpf_program_path: bpfObjectPath(), pin_path: pinDir, cgroup_path: cgroup!.path };
    envoy = EnvoyProcess.start('libbpf', proxyBootstrap({ listenPort, upstreamPort: echo!.port, adminPort, sockmap }));
    await envoy.waitReady(adminPort);
    expect(envoy.log).toContain(`sockmap acceleration enabled using ${bpfObjectPath()}`);

    const payload = crypto.randomBytes(256 * 1024);
    const { socket: client, received } = await echoExchange(listenPort, payload);
    expect(sha256(received)).toBe(sha256(payload));
    expect((await fetchStats(adminPort))['sockmap.registered']).toBe(1); // the accepted socket

    const attached = cgroupAttachments(cgroup!.path);
    expect(attached).toHaveLength(1);
    expect(attached[0]).toMatchObject({ name: 'envoy_sockops', attach_type: 'cgroup_sock_ops' });
    const sockhashId = pinnedMapId(path.join(pinDir, 'envoy_sockhash'));
    expect(sockhashId).toBeDefined();
    const skMsg = bpfProgs().filter((p) => p.name === 'envoy_sk_msg' && p.map_ids?.includes(sockhashId!));
    expect(skMsg).toHaveLength(1);
    const footprint: Footprint = { sockopsProg: attached[0].id, skMsgProg: skMsg[0].id, links: [], sockhashId: sockhashId! };
    const links = bpfLinks().filter((l) => l.prog_id === footprint.sockopsProg || l.prog_id === footprint.skMsgProg);
    // One link per attachment: sock_ops on the cgroup, sk_msg on the sockhash.
    expect(links.map((l) => l.prog_id).sort()).toEqual([footprint.sockopsProg, footprint.skMsgProg].sort());
    expect(links.find((l) => l.prog_id === footprint.sockopsProg)?.cgroup_id).toBe(fs.statSync(cgroup!.path).ino);
    footprint.links = links.map((l) => l.id);
    console.log(`envoy-ts pid ${envoy.pid}: ${JSON.stringify(footprint)}`);
    return { footprint, client };
  }

  async function expectNothingLeft(f: Footprint): Promise<void> {
    const progsGone = await eventually(() => {
      const ids = new Set(bpfProgs().map((p) => p.id));
      return !ids.has(f.sockopsProg) && !ids.has(f.skMsgProg);
    });
    expect(progsGone).toBe(true);
    const linkIds = new Set(bpfLinks().map((l) => l.id));
    expect(f.links.filter((id) => linkIds.has(id))).toEqual([]);
    expect(cgroupAttachments(cgroup!.path)).toEqual([]);
    // The pinned sockhash is still there (shared by design) and no program of any id uses it.
    expect(pinnedMapId(path.join(pinDir, 'envoy_sockhash'))).toBe(f.sockhashId);
    expect(bpfProgs().filter((p) => p.map_ids?.includes(f.sockhashId))).toEqual([]);
  }

  test.each(['SIGTERM', 'SIGKILL'] as const)('%s: programs, links and the cgroup attachment are gone', async (signal) => {
    const { footprint, client } = await startAndFindFootprint();
    try {
      const code = await envoy!.stop(signal);
      if (signal === 'SIGTERM') expect(code).toBe(0);
      else expect(envoy!.child.signalCode).toBe('SIGKILL');
      await expectNothingLeft(footprint);
    } finally {
      client.destroy();
    }
  });
});
