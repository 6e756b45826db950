import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setLogLevel } from '../../src/common/logger';
import { Server } from '../../src/server/server';
import { adminStat, httpGet } from '../helpers/admin';
import { connect, readAll, startEchoServer, type TestServer } from '../helpers/net';
import { resolvedForSpec, type ServerMainSpec } from '../helpers/server_main_impl';

setLogLevel('warn');

const WORKER_ENTRY = path.join(__dirname, '../helpers/server_main.js');

describe('--concurrency 2', () => {
  let upstream: TestServer;
  let server: Server;
  let specDir: string;

  beforeAll(async () => {
    upstream = await startEchoServer();
    specDir = fs.mkdtempSync(path.join(os.tmpdir(), 'envoy-ts-concurrency-'));
    const spec: ServerMainSpec = {
      concurrency: 2,
      listeners: [{ name: 'l', cluster: 'c' }],
      clusters: [{ name: 'c', endpoints: [{ port: upstream.port }] }],
      adminPort: 0,
      logLevel: 'warn',
      countHooks: true,
    };
    const specPath = path.join(specDir, 'spec.json');
    fs.writeFileSync(specPath, JSON.stringify(spec));
    // The primary runs this test's process; the workers run the test entry point with the same spec.
    server = new Server(resolvedForSpec(spec), { concurrency: 2, workerExec: WORKER_ENTRY, workerArgs: [specPath] });
    await server.start();
  });

  afterAll(async () => {
    await server.stop();
    await upstream.close();
    fs.rmSync(specDir, { recursive: true, force: true });
  });

  it('shares one listener between the workers and aggregates their stats in the primary', async () => {
    expect(server.role).toBe('primary');
    const port = server.listenerAddress('l')?.port as number;
    expect(port).toBeGreaterThan(0);
    const adminPort = server.adminAddress()?.port as number;
    expect(await httpGet(adminPort, '/ready')).toMatchObject({ status: 200, body: 'LIVE\n' });

    const connections = 20;
    for (let i = 0; i < connections; i++) {
      const client = await connect(port);
      const reply = readAll(client);
      client.end(`message ${i}`);
      expect((await reply).toString()).toBe(`message ${i}`);
    }

    const prefix = `listener.127.0.0.1_${port}.`;
    expect(await adminStat(adminPort, `${prefix}downstream_cx_total`)).toBe(connections);
    expect(await adminStat(adminPort, 'cluster.c.upstream_cx_total')).toBe(connections);
    const perWorker = [await adminStat(adminPort, `${prefix}worker_0.downstream_cx_total`), await adminStat(adminPort, `${prefix}worker_1.downstream_cx_total`)];
    expect(perWorker.every((n) => (n ?? 0) > 0)).toBe(true);
    expect((perWorker[0] ?? 0) + (perWorker[1] ?? 0)).toBe(connections);

    // The primary accepted (node:cluster round robin): in the workers every socket was duplicated.
    expect(await adminStat(adminPort, 'test.socket_interface.duplicated')).toBe(connections);
    expect((await adminStat(adminPort, 'test.socket_interface.accepted')) ?? 0).toBe(0);
    expect(await adminStat(adminPort, 'test.socket_interface.connected')).toBe(connections);
  });
});
