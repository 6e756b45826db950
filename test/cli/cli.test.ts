// The CLI as a user runs it: the built stub variant, real files, real exit codes.
import * as net from 'node:net';
import * as path from 'node:path';
import { proxyBootstrap } from '../support/bootstraps';
import { cliPath, EnvoyProcess } from '../support/envoy_process';
import { echoExchange, freePort, startEchoServer } from '../support/net_tools';
import { spawnSync } from 'node:child_process';

const SPEC_EXAMPLE = path.join(__dirname, '../fixtures/bootstrap/spec_example.yaml');

function runCli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cliPath('stub'), ...args], { encoding: 'utf8', timeout: 30000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.on('connect', () => (s.destroy(), resolve(false)));
    s.on('error', () => resolve(true));
  });
}

describe('envoy-ts CLI', () => {
  test('--mode validate accepts the spec example and exits 0', () => {
    const r = runCli(['-c', SPEC_EXAMPLE, '--mode', 'validate']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('OK');
  });

  test('a configuration error exits 1 with the field path, before any listener opens', async () => {
    const port = await freePort();
    const bootstrap = proxyBootstrap({ listenPort: port, upstreamPort: 1, adminPort: await freePort() }) as {
      static_resources: { clusters: { connect_timeout: string }[] };
    };
    bootstrap.static_resources.clusters[0].connect_timeout = 'soon';
    const { code, log } = await EnvoyProcess.run('stub', bootstrap);
    expect(code).toBe(1);
    expect(log).toContain('static_resources.clusters[0].connect_timeout:');
    expect(log).not.toMatch(/listening on/);
    expect(await portIsFree(port)).toBe(true);
  });

  test('validate mode reports every problem, one per line', async () => {
    const bootstrap = {
      static_resources: { listeners: [{ name: 'a', address: { socket_address: { address: 'localhost', port_value: 70000 } } }] },
      default_socket_interface: 'nope',
    };
    const { code, log } = await EnvoyProcess.run('stub', bootstrap, ['--mode', 'validate']);
    expect(code).toBe(1);
    expect(log).toContain('static_resources.listeners[0].address.socket_address.port_value:');
    expect(log).toContain('default_socket_interface:');
  });

  test.each([
    [['--concurrency', '0'], /concurrency/],
    [['--mode', 'dance'], /mode/],
    [['-l', 'loud'], /log-level/],
  ])('bad flag %j exits 1 naming the flag', (extra, pattern) => {
    const r = runCli(['-c', SPEC_EXAMPLE, ...extra]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(pattern);
  });

  test('a missing config file exits 1 naming the file', () => {
    const r = runCli(['-c', '/nonexistent/envoy.yaml', '--mode', 'validate']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('/nonexistent/envoy.yaml');
  });

  test('serve proxies, answers /ready and exits 0 on SIGTERM', async () => {
    const echo = await startEchoServer();
    const [listenPort, adminPort] = [await freePort(), await freePort()];
    const proc = EnvoyProcess.start('stub', proxyBootstrap({ listenPort, upstreamPort: echo.port, adminPort }));
    try {
      await proc.waitReady(adminPort);
      const payload = Buffer.from('hello through envoy-ts');
      const { socket, received } = await echoExchange(listenPort, payload);
      socket.destroy();
      expect(received.equals(payload)).toBe(true);
      expect(await proc.stop('SIGTERM')).toBe(0);
    } finally {
      await proc.stop();
      await echo.close();
    }
  });
});
