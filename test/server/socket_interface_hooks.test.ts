import type * as net from 'node:net';
import { setLogLevel } from '../../src/common/logger';
import { Server } from '../../src/server/server';
import type { BootstrapExtensionFactory } from '../../src/registry/bootstrap_extension';
import { resolvedBootstrap } from '../helpers/bootstrap';
import { closed, connect, freePort, readAll, startTcpServer, waitFor, type TestServer } from '../helpers/net';
import { startProxy, type RunningProxy } from '../helpers/proxy';
import { RecordingSocketInterface, recordingSocketInterfaceFactory } from '../helpers/recording_socket_interface';

setLogLevel('warn');

const HOOK_DELAY_MS = 100;

describe('a custom socket interface selected by default_socket_interface', () => {
  let upstream: TestServer | undefined;
  let proxy: RunningProxy | undefined;

  afterEach(async () => {
    await proxy?.stop();
    proxy = undefined;
    await upstream?.close();
  });

  it('sees accepted and connected before any byte is written, and closing before each close', async () => {
    const firstByteAt: number[] = [];
    upstream = await startTcpServer((socket) => {
      socket.once('data', () => firstByteAt.push(Date.now()));
      socket.pipe(socket);
    });
    const socketInterface = new RecordingSocketInterface('test.recording', HOOK_DELAY_MS);
    proxy = await startProxy(
      { listeners: [{ name: 'l', cluster: 'c' }], clusters: [{ name: 'c', endpoints: [{ port: upstream.port }] }] },
      {
        bootstrapExtensions: [{ name: 'test.recording', factory: recordingSocketInterfaceFactory(socketInterface) }],
        defaultSocketInterface: 'test.recording',
      },
    );
    expect(socketInterface.calls.map((c) => c.hook)).toEqual(['listening']);

    const client = await connect(proxy.port);
    client.write('sent before the hooks settle'); // buffered by the proxy until they do
    const reply = readAll(client);
    await waitFor(() => firstByteAt.length === 1, 5000, 'bytes at the upstream');
    client.end();
    expect((await reply).toString()).toBe('sent before the hooks settle');
    await closed(client);

    const sockets = [...socketInterface.sockets];
    await waitFor(() => sockets.every((s) => s.destroyed), 5000, 'proxy sockets closed');
    const downstream = sockets.find((s) => socketInterface.callsFor(s)[0] === 'accepted') as net.Socket;
    const upstreamSocket = sockets.find((s) => socketInterface.callsFor(s)[0] === 'connected') as net.Socket;
    expect(socketInterface.callsFor(downstream)).toEqual(['accepted', 'closing']);
    expect(socketInterface.callsFor(upstreamSocket)).toEqual(['connected', 'closing']);

    for (const call of socketInterface.calls.filter((c) => c.hook === 'accepted' || c.hook === 'connected')) {
      expect(call.bytesWritten).toBe(0);
    }
    const connectedAt = socketInterface.calls.find((c) => c.hook === 'connected')?.at as number;
    expect(firstByteAt[0]).toBeGreaterThanOrEqual(connectedAt + HOOK_DELAY_MS - 5);
    for (const call of socketInterface.calls.filter((c) => c.hook === 'closing')) expect(call.destroyed).toBe(false);

    await proxy.stop();
    proxy = undefined;
    expect(socketInterface.calls.at(-1)?.hook).toBe('shutdown');
  });

  it('calls closing for both sockets when the session is torn down by stop()', async () => {
    upstream = await startTcpServer((socket) => socket.pipe(socket));
    const socketInterface = new RecordingSocketInterface('test.recording');
    proxy = await startProxy(
      { listeners: [{ name: 'l', cluster: 'c' }], clusters: [{ name: 'c', endpoints: [{ port: upstream.port }] }] },
      {
        bootstrapExtensions: [{ name: 'test.recording', factory: recordingSocketInterfaceFactory(socketInterface) }],
        defaultSocketInterface: 'test.recording',
      },
    );
    const client = await connect(proxy.port);
    client.on('error', () => {});
    const echoed = new Promise((resolve) => client.once('data', resolve));
    client.write('x');
    await echoed;
    await proxy.stop();
    proxy = undefined;
    await closed(client);
    const closing = socketInterface.calls.filter((c) => c.hook === 'closing');
    expect(closing).toHaveLength(2);
    for (const call of closing) expect(call.destroyed).toBe(false);
  });
});

describe('Server start failures leave nothing started', () => {
  function extension(name: string, events: string[], fail?: 'create' | 'init'): BootstrapExtensionFactory {
    return {
      name,
      configTypes: [],
      createBootstrapExtension: () => {
        if (fail === 'create') throw new Error(`${name} cannot be created`);
        events.push(`create ${name}`);
        return {
          onServerInitialized: () => {
            if (fail === 'init') throw new Error(`${name} cannot initialize`);
          },
          shutdown: () => {
            events.push(`shutdown ${name}`);
          },
        };
      },
    };
  }

  async function expectNotListening(port: number): Promise<void> {
    await expect(connect(port)).rejects.toThrow(/ECONNREFUSED/);
  }

  it.each([
    ['a bootstrap extension cannot be created', ['a', 'b:create'], undefined, /b cannot be created/],
    ['onServerInitialized throws', ['a', 'b:init'], undefined, /b cannot initialize/],
    ['default_socket_interface is not a socket interface', ['a', 'b'], 'a', /'a' is not a socket interface/],
    ['default_socket_interface names no extension', ['a'], 'missing', /'missing' names no bootstrap extension/],
  ])('when %s', async (_case, specs, defaultSocketInterface, message) => {
    const events: string[] = [];
    const port = await freePort();
    const bootstrapExtensions = specs.map((spec) => {
      const [name, fail] = spec.split(':') as [string, 'create' | 'init' | undefined];
      return { name, factory: extension(name, events, fail) };
    });
    const server = new Server(
      resolvedBootstrap(
        { listeners: [{ name: 'l', cluster: 'c', port }], clusters: [{ name: 'c', endpoints: [{ port: 1 }] }] },
        { bootstrapExtensions, defaultSocketInterface },
      ),
    );
    await expect(server.start()).rejects.toThrow(message);
    await expectNotListening(port);
    const created = events.filter((e) => e.startsWith('create')).map((e) => e.slice('create '.length));
    const shutDown = events.filter((e) => e.startsWith('shutdown')).map((e) => e.slice('shutdown '.length));
    expect(shutDown).toEqual([...created].reverse());
    expect(server.listenerAddresses()).toEqual([]);
  });
});
