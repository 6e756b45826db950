import { setLogLevel } from '../../src/common/logger';
import { httpGet } from '../helpers/admin';
import { connect, readAll, startTcpServer, waitFor, type TestServer } from '../helpers/net';
import { startProxy, type RunningProxy } from '../helpers/proxy';

setLogLevel('warn');

describe('admin endpoints', () => {
  let upstream: TestServer;
  let proxy: RunningProxy;
  let adminPort: number;

  beforeAll(async () => {
    upstream = await startTcpServer((socket) => socket.end('hi'));
    proxy = await startProxy({
      listeners: [{ name: 'ingress', cluster: 'backend', statPrefix: 'ingress_tcp' }],
      clusters: [{ name: 'backend', endpoints: [{ port: upstream.port }] }],
      adminPort: 0,
    });
    adminPort = proxy.server.adminAddress()?.port as number;
    const client = await connect(proxy.port);
    client.end();
    expect((await readAll(client)).toString()).toBe('hi');
    await waitFor(() => proxy.stat('cluster.backend.upstream_cx_active') === 0, 5000, 'session closed');
  });

  afterAll(async () => {
    await proxy.stop();
    await upstream.close();
  });

  it('GET /ready is LIVE', async () => {
    expect(await httpGet(adminPort, '/ready')).toMatchObject({ status: 200, body: 'LIVE\n' });
  });

  it("GET /stats is Envoy's sorted name: value text", async () => {
    const { status, body } = await httpGet(adminPort, '/stats');
    expect(status).toBe(200);
    const lines = body.trim().split('\n');
    expect(lines).toEqual([...lines].sort());
    expect(lines).toContain('cluster.backend.upstream_cx_total: 1');
    expect(lines).toContain('cluster.backend.upstream_cx_active: 0');
    expect(lines).toContain('cluster.backend.upstream_cx_rx_bytes_total: 2');
    expect(lines).toContain('tcp.ingress_tcp.downstream_cx_total: 1');
    expect(lines).toContain(`listener.127.0.0.1_${proxy.port}.downstream_cx_total: 1`);
    expect(lines).toContain(`listener.127.0.0.1_${proxy.port}.downstream_cx_active: 0`);
    expect(lines).toContain(`listener.127.0.0.1_${proxy.port}.worker_0.downstream_cx_total: 1`);
  });

  it('GET /stats?format=json', async () => {
    const { status, contentType, body } = await httpGet(adminPort, '/stats?format=json');
    expect(status).toBe(200);
    expect(contentType).toMatch(/application\/json/);
    const { stats } = JSON.parse(body) as { stats: { name: string; value: number }[] };
    expect(stats).toContainEqual({ name: 'cluster.backend.upstream_cx_total', value: 1 });
  });

  it('GET /stats/prometheus', async () => {
    const { status, body } = await httpGet(adminPort, '/stats/prometheus');
    expect(status).toBe(200);
    expect(body).toContain('# TYPE envoy_cluster_backend_upstream_cx_total counter\nenvoy_cluster_backend_upstream_cx_total 1\n');
    expect(body).toContain('# TYPE envoy_cluster_backend_upstream_cx_active gauge\nenvoy_cluster_backend_upstream_cx_active 0\n');
    expect(body).toContain(`envoy_listener_127_0_0_1_${proxy.port}_downstream_cx_total 1\n`);
  });

  it('GET /config_dump is the bootstrap as loaded', async () => {
    const { status, body } = await httpGet(adminPort, '/config_dump');
    expect(status).toBe(200);
    const dump = JSON.parse(body) as {
      configs: { '@type': string; bootstrap: { static_resources: { listeners: { name: string }[]; clusters: { name: string }[] } } }[];
    };
    expect(dump.configs[0]?.['@type']).toBe('type.googleapis.com/envoy.admin.v3.BootstrapConfigDump');
    expect(dump.configs[0]?.bootstrap.static_resources.listeners.map((l) => l.name)).toEqual(['ingress']);
    expect(dump.configs[0]?.bootstrap.static_resources.clusters.map((c) => c.name)).toEqual(['backend']);
  });

  it('answers 404 for anything else', async () => {
    expect((await httpGet(adminPort, '/nope')).status).toBe(404);
  });
});
