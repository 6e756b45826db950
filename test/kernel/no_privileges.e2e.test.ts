// Without the privileges to load eBPF programs the sockmap interface logs why, once, and every
// socket stays on the standard datapath: the proxy serves as usual.
import * as fs from 'node:fs';
import { proxyBootstrap } from '../support/bootstraps';
import { uniquePinDir } from '../support/bpffs';
import { bpfObjectPath, EnvoyProcess, fetchStats } from '../support/envoy_process';
import { expectEchoByteExact, freePort, startEchoServer } from '../support/net_tools';
import { describeKernel } from '../support/privileges';

const NOBODY = 65534;

describeKernel('an unprivileged envoy-ts', () => {
  let envoy: EnvoyProcess | undefined;
  let pinDir = '';

  afterAll(async () => {
    await envoy?.stop();
    if (pinDir) fs.rmSync(pinDir, { recursive: true, force: true });
  });

  test('logs that it lacks the privileges once and proxies on the standard datapath', async () => {
    const echo = await startEchoServer();
    try {
      // A pin dir the user may create (the bpffs root is world-writable here), so that loading is what fails.
      pinDir = uniquePinDir('nopriv');
      const [listenPort, adminPort] = [await freePort(), await freePort()];
      const sockmap = { bpf_program_path: bpfObjectPath(), pin_path: pinDir };
      envoy = EnvoyProcess.start('libbpf', proxyBootstrap({ listenPort, upstreamPort: echo.port, adminPort, sockmap }), [], { user: NOBODY });
      await envoy.waitReady(adminPort);
      const reason = /sockmap acceleration disabled, every socket uses the standard datapath: (.*)/.exec(envoy.log)?.[1] ?? '';
      expect(reason).toMatch(/^no privileges to load eBPF programs/);
      expect(envoy.countLogLines(/sockmap acceleration disabled/)).toBe(1);

      await expectEchoByteExact(listenPort, 256 * 1024);
      const stats = await fetchStats(adminPort);
      expect(stats['sockmap.registered']).toBe(0);
      expect(Object.keys(stats).some((k) => k.startsWith('sockmap.kernel.'))).toBe(false);
    } finally {
      await echo.close();
    }
  });
});
