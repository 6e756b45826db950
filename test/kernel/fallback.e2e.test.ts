// Every way the datapath can fail to load falls back, through a real envoy-ts process: the reason
// is logged once, every socket stays on the standard datapath, and traffic flows byte-exact.
// Also: the stub build's warning, and the success line with the real object.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { proxyBootstrap } from '../support/bootstraps';
import { uniquePinDir } from '../support/bpffs';
import { bpfObjectPath, cliPath, EnvoyProcess, fetchStats, type Variant } from '../support/envoy_process';
import { expectEchoByteExact, freePort, startEchoServer } from '../support/net_tools';
import { describeKernel } from '../support/privileges';
import { compileBpf } from './helpers';

const DISABLED = 'sockmap acceleration disabled, every socket uses the standard datapath: ';
const DISABLED_LINE = /^\S+ error \[sockmap\] sockmap acceleration disabled, every socket uses the standard datapath: /;

/** An object with the sockhash and envoy_sockops but no envoy_sk_msg program. */
const NO_SK_MSG_SOURCE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct k { __u32 a[6]; };
struct { __uint(type, BPF_MAP_TYPE_SOCKHASH); __uint(max_entries, 16); __type(key, struct k); __type(value, __u64); } envoy_sockhash SEC(".maps");
SEC("sockops") int envoy_sockops(struct bpf_sock_ops *s) { return 1; }
char _license[] SEC("license") = "GPL";
`;

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describeKernel('sockmap failure modes fall back through a real envoy-ts process', () => {
  let tmp = '';
  let echo: Awaited<ReturnType<typeof startEchoServer>> | undefined;
  let envoy: EnvoyProcess | undefined;
  let pinDir = '';

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'envoy-ts-fallback-'));
    echo = await startEchoServer();
  });

  afterAll(async () => {
    await echo?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  beforeEach(() => {
    pinDir = uniquePinDir('fallback');
  });

  afterEach(async () => {
    await envoy?.stop();
    envoy = undefined;
    fs.rmSync(pinDir, { recursive: true, force: true });
  });

  /** Starts envoy-ts with this sockmap config, proxies 256 KiB byte-exact, returns its stats. */
  async function startAndProxy(variant: Variant, sockmap: Record<string, unknown>, args: string[] = []): Promise<Record<string, number>> {
    echo = echo!;
    const [listenPort, adminPort] = [await freePort(), await freePort()];
    envoy = EnvoyProcess.start(variant, proxyBootstrap({ listenPort, upstreamPort: echo.port, adminPort, sockmap }), args);
    await envoy.waitReady(adminPort);
    await expectEchoByteExact(listenPort, 256 * 1024);
    return fetchStats(adminPort);
  }

  function expectStandardDatapath(stats: Record<string, number>): void {
    expect(stats['sockmap.registered']).toBe(0);
    expect(Object.keys(stats).filter((name) => name.startsWith('sockmap.kernel.'))).toEqual([]);
    expect(stats['tcp.ingress.downstream_cx_total']).toBe(1);
  }

  const cases: { name: string; config: () => Record<string, unknown>; reason: RegExp }[] = [
    {
      name: 'bpf_program_path is a missing file',
      config: () => ({ bpf_program_path: path.join(tmp, 'missing.o') }),
      reason: /bpf_program_path \S+missing\.o: file missing or unreadable \(ENOENT\)$/,
    },
    {
      name: 'bpf_program_path is a text file',
      config: () => {
        const text = path.join(tmp, 'text.o');
        fs.writeFileSync(text, 'this is not an eBPF object\n');
        return { bpf_program_path: text };
      },
      reason: /bpf_program_path \S+text\.o: not an ELF file/,
    },
    {
      name: 'the object lacks envoy_sk_msg',
      config: () => ({ bpf_program_path: compileBpf(NO_SK_MSG_SOURCE, path.join(tmp, 'no-sk-msg.o')) }),
      reason: /bpf_program_path \S+no-sk-msg\.o: program envoy_sk_msg not found$/,
    },
    {
      name: 'cgroup_path is not a cgroup v2 directory',
      config: () => ({ bpf_program_path: bpfObjectPath(), cgroup_path: fs.mkdtempSync(path.join(tmp, 'not-a-cgroup-')) }),
      reason: /cgroup_path \S+not-a-cgroup-\S+ is not a cgroup v2 directory: not on a cgroup v2 mount/,
    },
    {
      name: 'pin_path is not on bpffs',
      config: () => ({ bpf_program_path: bpfObjectPath(), pin_path: fs.mkdtempSync(path.join(tmp, 'pins-')) }),
      reason: /pins-\S+.*not on a bpffs mount/,
    },
  ];

  test.each(cases)('$name: logs the reason once, traffic flows, nothing registered', async (c) => {
    const stats = await startAndProxy('libbpf', { pin_path: pinDir, ...c.config() });
    const log = envoy!.log;
    const lines = log.split('\n').filter((line) => DISABLED_LINE.test(line));
    expect(lines).toHaveLength(1);
    const reason = lines[0].slice(lines[0].indexOf(DISABLED) + DISABLED.length);
    console.log(`${c.name}: ${reason}`);
    expect(reason).toMatch(c.reason);
    expect(log).not.toContain('sockmap acceleration enabled');
    expectStandardDatapath(stats);
  });

  test('stub build with bpf_program_path: warns it was built without sockmap support, standard datapath', async () => {
    // build/<variant> is compiled from a generated src file (build_variant.ts): two builds racing in one
    // checkout can produce a "stub" that loads libbpf. Say so plainly rather than fail obscurely.
    const variantJs = path.join(path.dirname(cliPath('stub')), 'extensions/network/socket_interface/sockmap/build_variant.js');
    expect(`${variantJs}: ${fs.readFileSync(variantJs, 'utf8')}`).toContain("require(\"./datapath-stub\")");
    const stats = await startAndProxy('stub', { bpf_program_path: bpfObjectPath(), pin_path: pinDir });
    const warning = new RegExp(
      `^\\S+ warn \\[sockmap\\] bpf_program_path is set to ${escape(bpfObjectPath())} but envoy-ts was built without sockmap support .*every socket uses the standard datapath$`,
    );
    expect(envoy!.countLogLines(warning)).toBe(1);
    expect(envoy!.log).not.toContain('sockmap acceleration enabled');
    expect(envoy!.log).not.toContain(DISABLED);
    expectStandardDatapath(stats);
    expect(fs.existsSync(pinDir)).toBe(false); // the stub touches no bpffs
  });

  test('success: "sockmap acceleration enabled using <path>" once, at info level', async () => {
    const stats = await startAndProxy('libbpf', { bpf_program_path: bpfObjectPath(), pin_path: pinDir });
    const success = new RegExp(`^\\S+ info \\[sockmap\\] sockmap acceleration enabled using ${escape(bpfObjectPath())}$`);
    expect(envoy!.countLogLines(success)).toBe(1);
    expect(envoy!.countLogLines(/sockmap acceleration enabled/)).toBe(1);
    expect(envoy!.log).not.toContain(DISABLED);
    expect(stats['sockmap.registered']).toBe(1); // the accepted socket; the upstream echo server cannot be accelerated
    expect(stats['sockmap.skipped_upstream_no_peer']).toBe(1);
    expect(stats['sockmap.kernel.msgs_redirected']).toBeDefined();
  });

  // With workers every process loads the datapath; the server still says it once (the primary's line).
  test('--concurrency 2: the success line and a failure reason are each logged once', async () => {
    const ok = await startAndProxy('libbpf', { bpf_program_path: bpfObjectPath(), pin_path: pinDir }, ['--concurrency', '2']);
    expect(envoy!.countLogLines(/sockmap acceleration enabled using /)).toBe(1);
    expect(ok['sockmap.registered']).toBe(1); // a worker registered the accepted socket (the upstream is a plain echo server)
    await envoy!.stop();
    envoy = undefined;

    const missing = path.join(tmp, 'missing-concurrency.o');
    const failed = await startAndProxy('libbpf', { bpf_program_path: missing, pin_path: pinDir }, ['--concurrency', '2']);
    expect(envoy!.countLogLines(DISABLED_LINE)).toBe(1);
    expect(failed['sockmap.registered']).toBe(0);
  });
});
