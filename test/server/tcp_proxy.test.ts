import type * as net from 'node:net';
import { setLogLevel } from '../../src/common/logger';
import { startBlackhole } from '../helpers/blackhole';
import { seconds } from '../helpers/bootstrap';
import {
  closed,
  connect,
  freePort,
  randomData,
  readAll,
  sha256,
  startEchoServer,
  startTcpServer,
  waitFor,
  writeAllAndEnd,
  type TestServer,
} from '../helpers/net';
import { startProxy, type RunningProxy } from '../helpers/proxy';
import { RecordingSocketInterface, recordingSocketInterfaceFactory } from '../helpers/recording_socket_interface';

const MiB = 1024 * 1024;
setLogLevel('warn');

describe('tcp_proxy through real sockets', () => {
  let upstreams: TestServer[] = [];
  let proxy: RunningProxy | undefined;

  afterEach(async () => {
    await proxy?.stop();
    proxy = undefined;
    await Promise.all(upstreams.map((u) => u.close()));
    upstreams = [];
  });

  async function upstream(onConnection: (socket: net.Socket) => void): Promise<TestServer> {
    const server = await startTcpServer(onConnection);
    upstreams.push(server);
    return server;
  }

  it('moves 32 MiB each way concurrently, byte-exact', async () => {
    const toUpstream = randomData(32 * MiB);
    const toClient = randomData(32 * MiB);
    let upstreamReceived: Promise<Buffer> = Promise.resolve(Buffer.alloc(0));
    const server = await upstream((socket) => {
      upstreamReceived = readAll(socket);
      void writeAllAndEnd(socket, toClient);
    });
    proxy = await startProxy({ listeners: [{ name: 'l', cluster: 'c' }], clusters: [{ name: 'c', endpoints: [{ port: server.port }] }] });

    const client = await connect(proxy.port, undefined, true); // keeps writing after the upstream's end
    const [clientReceived] = await Promise.all([readAll(client), writeAllAndEnd(client, toUpstream)]);
    expect(sha256(clientReceived)).toBe(sha256(toClient));
    expect(sha256(await upstreamReceived)).toBe(sha256(toUpstream));
    await closed(client);

    await waitFor(() => proxy?.stat('cluster.c.upstream_cx_active') === 0, 5000, 'upstream closed');
    expect(proxy.stat('cluster.c.upstream_cx_tx_bytes_total')).toBe(32 * MiB);
    expect(proxy.stat('cluster.c.upstream_cx_rx_bytes_total')).toBe(32 * MiB);
    expect(proxy.stat('cluster.c.upstream_cx_total')).toBe(1);
    expect(proxy.stat('tcp.l.downstream_cx_total')).toBe(1);
    const listenerPrefix = `listener.127.0.0.1_${proxy.port}.`;
    expect(proxy.stat(`${listenerPrefix}downstream_cx_total`)).toBe(1);
    await waitFor(() => proxy?.stat(`${listenerPrefix}downstream_cx_active`) === 0, 5000, 'downstream closed');
    expect(proxy.stat(`${listenerPrefix}downstream_cx_rx_bytes_total`)).toBe(32 * MiB);
    expect(proxy.stat(`${listenerPrefix}downstream_cx_tx_bytes_total`)).toBe(32 * MiB);
  });

  it('propagates half-close: the upstream sees the end and can still reply', async () => {
    const server = await upstream((socket) => {
      void readAll(socket).then((request) => {
        socket.write('reply to ');
        socket.end(request);
      });
    });
    proxy = await startProxy({ listeners: [{ name: 'l', cluster: 'c' }], clusters: [{ name: 'c', endpoints: [{ port: server.port }] }] });

    const client = await connect(proxy.port);
    const reply = readAll(client);
    client.end('hello');
    expect((await reply).toString()).toBe('reply to hello');
    await closed(client);
  });

  it('applies backpressure: a slow upstream reader pauses the client and bounds proxy buffers', async () => {
    const data = randomData(48 * MiB);
    let upstreamSocket: net.Socket | undefined;
    const server = await upstream((socket) => {
      socket.pause(); // reads nothing until the test resumes it
      upstreamSocket = socket;
    });
    const socketInterface = new RecordingSocketInterface('test.recording');
    proxy = await startProxy(
      { listeners: [{ name: 'l', cluster: 'c' }], clusters: [{ name: 'c', endpoints: [{ port: server.port }] }] },
      { bootstrapExtensions: [{ name: 'test.recording', factory: recordingSocketInterfaceFactory(socketInterface) }], defaultSocketInterface: 'test.recording' },
    );

    const client = await connect(proxy.port);
    const writing = writeAllAndEnd(client, data);
    await waitFor(() => upstreamSocket !== undefined, 5000, 'upstream connection');
    await new Promise((resolve) => setTimeout(resolve, 1000));

    // The client is blocked: its writes were refused and what it handed to the kernel is far below the total.
    expect(client.writableNeedDrain).toBe(true);
    expect(client.bytesWritten).toBeLessThan(data.length);
    // The proxy holds at most about one read per socket in user space, and has paused the downstream.
    const proxySockets = [...socketInterface.sockets];
    expect(proxySockets).toHaveLength(2);
    for (const socket of proxySockets) expect(socket.writableLength).toBeLessThanOrEqual(1 * MiB);
    const downstream = proxySockets.find((s) => socketInterface.callsFor(s).includes('accepted'));
    expect(downstream?.isPaused()).toBe(true);

    const received = readAll(upstreamSocket as net.Socket);
    upstreamSocket?.resume();
    await writing;
    expect(sha256(await received)).toBe(sha256(data));
  });

  it('closes the downstream when the upstream refuses the connection', async () => {
    const deadPort = await freePort();
    proxy = await startProxy({ listeners: [{ name: 'l', cluster: 'c' }], clusters: [{ name: 'c', endpoints: [{ port: deadPort }] }] });

    const client = await connect(proxy.port);
    const errors: Error[] = [];
    client.on('error', (err) => errors.push(err));
    const received = await readAll(client);
    await closed(client);
    expect(received.length).toBe(0);
    expect(errors).toEqual([]); // a clean FIN, not a reset
    expect(proxy.stat('cluster.c.upstream_cx_connect_fail')).toBe(1);
    await waitFor(() => proxy?.stat('cluster.c.upstream_cx_active') === 0, 2000, 'upstream_cx_active 0');
  });

  it('times out an upstream connect after connect_timeout', async () => {
    const blackhole = await startBlackhole();
    try {
      proxy = await startProxy({
        listeners: [{ name: 'l', cluster: 'c' }],
        clusters: [{ name: 'c', endpoints: [{ port: blackhole.port }], connectTimeout: seconds(0.3) }],
      });
      const started = Date.now();
      const client = await connect(proxy.port);
      client.on('error', () => {});
      await closed(client);
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);
      expect(proxy.stat('cluster.c.upstream_cx_connect_timeout')).toBe(1);
      expect(proxy.stat('cluster.c.upstream_cx_connect_fail')).toBe(0);
    } finally {
      await proxy?.stop();
      proxy = undefined;
      await blackhole.close();
    }
  });

  it('closes idle sessions after idle_timeout', async () => {
    const server = await startEchoServer();
    upstreams.push(server);
    proxy = await startProxy({
      listeners: [{ name: 'l', cluster: 'c', idleTimeout: seconds(0.2) }],
      clusters: [{ name: 'c', endpoints: [{ port: server.port }] }],
    });
    const client = await connect(proxy.port);
    client.on('error', () => {});
    const echoed = new Promise<string>((resolve) => client.once('data', (d: Buffer) => resolve(d.toString())));
    client.write('ping');
    expect(await echoed).toBe('ping');
    const started = Date.now();
    await closed(client);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(proxy.stat('tcp.l.idle_timeout')).toBe(1);
  });

  it('keeps sessions with traffic alive past idle_timeout, and 0s disables it', async () => {
    const server = await startEchoServer();
    upstreams.push(server);
    proxy = await startProxy({
      listeners: [
        { name: 'busy', cluster: 'c', idleTimeout: seconds(0.3) },
        { name: 'never', cluster: 'c', idleTimeout: seconds(0) },
      ],
      clusters: [{ name: 'c', endpoints: [{ port: server.port }] }],
    });
    const [busy, never] = proxy.server.listenerAddresses().map((l) => l.address.port);
    const busyClient = await connect(busy as number);
    const neverClient = await connect(never as number);
    busyClient.resume();
    for (let i = 0; i < 6; i++) {
      busyClient.write('tick');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(busyClient.destroyed).toBe(false);
    expect(neverClient.destroyed).toBe(false);
    expect(proxy.stat('tcp.busy.idle_timeout')).toBe(0);
    busyClient.destroy();
    neverClient.destroy();
  });

  it('spreads connections round robin over the endpoints', async () => {
    const a = await upstream((socket) => socket.end('A'));
    const b = await upstream((socket) => socket.end('B'));
    proxy = await startProxy({
      listeners: [{ name: 'l', cluster: 'c' }],
      clusters: [{ name: 'c', endpoints: [{ port: a.port }, { port: b.port }] }],
    });
    const replies: string[] = [];
    for (let i = 0; i < 4; i++) {
      const client = await connect(proxy.port);
      const reply = readAll(client);
      client.end();
      replies.push((await reply).toString());
    }
    expect(replies).toEqual(['A', 'B', 'A', 'B']);
  });
});

describe('tcp_proxy over IPv6', () => {
  it('proxies on a [::1] listener to a [::1] upstream', async () => {
    const net = await import('node:net');
    const upstream = net.createServer((socket) => socket.end('v6'));
    const listening = await new Promise<boolean>((resolve) => {
      upstream.once('error', () => resolve(false));
      upstream.listen(0, '::1', () => resolve(true));
    });
    if (!listening) return; // no IPv6 loopback on this machine
    const port = (upstream.address() as net.AddressInfo).port;
    const proxy = await startProxy({
      listeners: [{ name: 'l6', host: '::1', cluster: 'c' }],
      clusters: [{ name: 'c', endpoints: [{ host: '::1', port }] }],
    });
    try {
      const client = await connect(proxy.port, '::1');
      client.end();
      expect((await readAll(client)).toString()).toBe('v6');
      expect(proxy.stat(`listener.[__1]_${proxy.port}.downstream_cx_total`)).toBe(1);
    } finally {
      await proxy.stop();
      await new Promise((resolve) => upstream.close(resolve));
    }
  });
});
