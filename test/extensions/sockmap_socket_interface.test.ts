// The sockmap socket interface's decisions, with a scripted datapath: what is registered, counted,
// logged and waited for. The kernel side of every path is proven in test/kernel/.
import * as net from 'node:net';
import type { Logger } from '../../src/common/logger';
import type { RegisterResult, SockmapDatapath } from '../../src/extensions/network/socket_interface/sockmap/datapath_types';
import { SockmapSocketInterfaceFactory } from '../../src/extensions/network/socket_interface/sockmap/factory';
import { DEFAULT_SETTINGS, SockmapSocketInterface } from '../../src/extensions/network/socket_interface/sockmap/socket_interface';
import { SockmapStats } from '../../src/extensions/network/socket_interface/sockmap/stats';
import { StatsStore } from '../../src/stats/stats';

class ScriptedDatapath implements SockmapDatapath {
  results: RegisterResult[] = [];
  registered: number[] = [];
  unregistered: number[] = [];
  published: string[] = [];
  peerPublished = false;
  waitResult = true;
  waits = 0;
  registerSocket(fd: number): RegisterResult {
    const r = this.results.shift() ?? 'registered';
    if (r === 'registered') this.registered.push(fd);
    return r;
  }
  unregisterSocket(fd: number): void {
    this.unregistered.push(fd);
  }
  forgotten: number[] = [];
  forgetSocket(fd: number): void {
    this.forgotten.push(fd);
  }
  publishListener(address: string, port: number): void {
    this.published.push(`${address}:${port}`);
  }
  unpublishListener(address: string, port: number): void {
    this.published = this.published.filter((p) => p !== `${address}:${port}`);
  }
  peerIsPublishedListener(): boolean {
    return this.peerPublished;
  }
  staleDropped = 0;
  dropStaleListener(): boolean {
    this.staleDropped++;
    return true;
  }
  peerInMap = false;
  peerRegistered(): boolean {
    return this.peerInMap;
  }
  async waitForPeer(): Promise<boolean> {
    this.waits++;
    return this.waitResult;
  }
  setPressure(): void {}
  unreadBytes(): number {
    return 0;
  }
  counters(): Record<string, number> {
    return { msgs_redirected: 7 };
  }
  ensureAttached(): void {}
  closed = false;
  close(): void {
    this.closed = true;
  }
}

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (m: string) => lines.push(`${level} ${m}`);
  return { lines, critical: at('critical'), error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug'), trace: at('trace') };
}

/** A connected socket pair on loopback; both have real descriptors. */
async function socketPair(): Promise<{ client: net.Socket; server: net.Socket; close: () => void }> {
  const listener = net.createServer();
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
  const accepted = new Promise<net.Socket>((r) => listener.once('connection', r));
  const client = net.connect((listener.address() as net.AddressInfo).port, '127.0.0.1');
  await new Promise((r) => client.once('connect', r));
  const server = await accepted;
  return { client, server, close: () => (client.destroy(), server.destroy(), listener.close()) };
}

describe('SockmapSocketInterface', () => {
  let store: StatsStore;
  let datapath: ScriptedDatapath;
  let logger: ReturnType<typeof recordingLogger>;
  let pair: Awaited<ReturnType<typeof socketPair>>;
  const stat = (name: string) => store.snapshot().find((s) => s.name === `sockmap.${name}`)?.value;

  beforeEach(async () => {
    store = new StatsStore();
    datapath = new ScriptedDatapath();
    logger = recordingLogger();
    pair = await socketPair();
  });
  afterEach(() => pair.close());

  const make = (settings = DEFAULT_SETTINGS, dp: SockmapDatapath | null = datapath) =>
    new SockmapSocketInterface(dp ?? undefined, settings, new SockmapStats(store), logger);

  test('accepted and duplicated sockets are registered; closing unregisters once', () => {
    const si = make();
    si.accepted(pair.server);
    si.duplicated(pair.client);
    expect(datapath.registered).toHaveLength(2);
    si.closing(pair.server);
    si.closing(pair.server);
    expect(datapath.unregistered).toHaveLength(1);
    expect(stat('registered')).toBe(2);
    expect(stat('unregistered')).toBe(1);
  });

  test('a registered socket that closes without closing() is forgotten, the map untouched', async () => {
    const si = make();
    si.accepted(pair.server);
    pair.server.destroy();
    await new Promise((r) => pair.server.once('close', r));
    expect(datapath.unregistered).toHaveLength(0);
    expect(datapath.forgotten).toHaveLength(1);
    expect(stat('unregistered')).toBe(1);
    si.closing(pair.server);
    expect(datapath.unregistered).toHaveLength(0);
  });

  test('a socket that is not IPv4, or does not fit, stays on TCP and is counted; a full map is logged once per interval', () => {
    const si = make();
    datapath.results = ['not_ipv4', 'map_full', 'map_full', 'map_full'];
    si.accepted(pair.server);
    si.accepted(pair.client);
    si.accepted(pair.server);
    si.accepted(pair.client);
    si.closing(pair.server);
    expect(datapath.unregistered).toHaveLength(0);
    expect(stat('skipped_not_ipv4')).toBe(1);
    expect(stat('map_full')).toBe(3);
    expect(logger.lines.filter((l) => l.includes('sockhash is full'))).toHaveLength(1);
  });

  test('a datapath error never reaches the connection', () => {
    const si = make();
    datapath.registerSocket = () => {
      throw new Error('EPERM');
    };
    expect(() => si.accepted(pair.server)).not.toThrow();
    expect(stat('registration_failed')).toBe(1);
    expect(logger.lines.some((l) => l.startsWith('warn') && l.includes('stays on TCP/IP'))).toBe(true);
  });

  test('an upstream socket is registered only when its peer can be accelerated', async () => {
    const si = make();
    await si.connected(pair.client);
    expect(datapath.registered).toHaveLength(0);
    expect(stat('skipped_upstream_no_peer')).toBe(1);
    datapath.peerInMap = true; // e.g. an application socket that sock_ops added
    await si.connected(pair.client);
    expect(datapath.registered).toHaveLength(1);
    expect(datapath.waits).toBe(0);
  });

  test('the connecting side waits for its peer when the peer is a published listener', async () => {
    const si = make();
    datapath.peerPublished = true;
    datapath.waitResult = false;
    await si.connected(pair.server);
    expect(datapath.waits).toBe(1);
    expect(stat('peer_wait_total')).toBe(1);
    expect(stat('peer_wait_timeout')).toBe(1);
    expect(datapath.staleDropped).toBe(1);
    expect(logger.lines.some((l) => l.includes('is gone; no longer waiting for it'))).toBe(true);
  });

  test('register_user_space_sockets: false registers and publishes nothing', async () => {
    const si = make({ ...DEFAULT_SETTINGS, registerUserSpaceSockets: false });
    si.accepted(pair.server);
    await si.connected(pair.client);
    si.listening({ address: '127.0.0.1', family: 'IPv4', port: 1 });
    expect(datapath.registered).toHaveLength(0);
    expect(datapath.published).toHaveLength(0);
  });

  test('IPv4 listeners are published and withdrawn at shutdown, once', async () => {
    const si = make();
    si.listening({ address: '127.0.0.1', family: 'IPv4', port: 1 });
    si.listening({ address: '::1', family: 'IPv6', port: 2 });
    expect(datapath.published).toEqual(['127.0.0.1:1']);
    await si.shutdown();
    await si.shutdown();
    expect(datapath.published).toEqual([]);
    expect(datapath.closed).toBe(true);
  });

  test('without a datapath it is the default socket interface', async () => {
    const si = make(DEFAULT_SETTINGS, null);
    si.accepted(pair.server);
    await si.connected(pair.client);
    si.closing(pair.server);
    expect(stat('registered')).toBe(0);
    expect(datapath.registered).toHaveLength(0);
  });
});

describe('SockmapSocketInterfaceFactory', () => {
  const factory = new SockmapSocketInterfaceFactory(() => undefined);
  const config = (over: object = {}) => ({
    bpf_program_path: '',
    cgroup_path: '',
    sockhash_max_entries: undefined,
    register_user_space_sockets: undefined,
    accelerated_ports: [],
    pin_path: '',
    ...over,
  });

  test('rejects empty and out-of-range port ranges and relative paths, naming the field', () => {
    expect(factory.validateConfig(config({ accelerated_ports: [{ start: 80, end: 80 }, { start: 0, end: 70000 }], cgroup_path: 'cg' }))).toEqual([
      { path: 'accelerated_ports[0]', message: 'empty range: start (80) must be less than end (80), end is exclusive' },
      { path: 'accelerated_ports[1].start', message: 'must be >= 1 (got 0)' },
      { path: 'accelerated_ports[1].end', message: 'must be <= 65536 (got 70000)' },
      { path: 'cgroup_path', message: "must be an absolute path (got 'cg')" },
    ]);
    expect(factory.validateConfig(config({ accelerated_ports: [{ start: 1, end: 65536 }] }))).toEqual([]);
  });

  test('applies the defaults and reports kernel counters from the primary only', () => {
    const seen: unknown[] = [];
    const withDatapath = new SockmapSocketInterfaceFactory((options) => {
      seen.push(options);
      return new ScriptedDatapath();
    });
    const primary = new StatsStore();
    const worker = new StatsStore();
    withDatapath.createBootstrapExtension(config({ bpf_program_path: '/x.o' }), { stats: primary, isWorker: false });
    withDatapath.createBootstrapExtension(config({ bpf_program_path: '/x.o' }), { stats: worker, isWorker: true });
    expect(seen[0]).toEqual({ bpfProgramPath: '/x.o', cgroupPath: '', sockhashMaxEntries: 65536, acceleratedPorts: [], pinPath: '', attachCgroup: true });
    expect(seen[1]).toMatchObject({ attachCgroup: false });
    expect(primary.snapshot().find((s) => s.name === 'sockmap.kernel.msgs_redirected')?.value).toBe(7);
    expect(worker.snapshot().find((s) => s.name === 'sockmap.kernel.msgs_redirected')).toBeUndefined();
  });
});
