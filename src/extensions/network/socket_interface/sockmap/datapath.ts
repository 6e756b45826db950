/**
 * The libbpf eBPF datapath: loads bpf/sockmap_kern.o, shares its maps through bpffs pins,
 * attaches envoy_sk_msg to the sockhash and envoy_sockops to a cgroup with BPF links, and
 * registers sockets from user space. See docs/kernel.md.
 */
import cluster from 'node:cluster';
import * as fs from 'node:fs';
import type { Logger } from '../../../../common/logger';
import { defaultPinDir, cgroup2Problem } from './bpf_fs';
import type { DatapathOptions, RegisterResult, SockmapDatapath, SocketEndpoints } from './datapath_types';
import { encodeListenerKey, encodeTuple, isIp4, peerTuple, readSocketTuple, SOCK_KEY_SIZE, LISTENER_KEY_SIZE, type SockTuple } from './key';
import * as bpf from './libbpf';
import { PinError, pinMissing, preparePinDir, reusePinned, unpinAll, withPinDirLock } from './pinning';

export type { DatapathOptions, RegisterResult } from './datapath_types';

/** Why the datapath cannot be used, in user terms. */
export class DatapathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatapathError';
  }
}

/** Index order of envoy_counters (enum envoy_counter in bpf/sockmap_key.h). */
export const COUNTER_NAMES = [
  'msgs_redirected',
  'bytes_redirected',
  'msgs_passed_peer_absent',
  'msgs_passed_unsafe',
  'msgs_passed_pressure',
  'sockops_added',
  'sockops_add_failed',
  'redirect_failed',
] as const;

const PROG_SOCKOPS = 'envoy_sockops';
const PROG_SK_MSG = 'envoy_sk_msg';
const MAP_SOCKHASH = 'envoy_sockhash';
/** Maps shared by every process using the same pin dir. envoy_ports stays per process. */
export const SHARED_MAPS = [MAP_SOCKHASH, 'envoy_counters', 'envoy_listeners', 'envoy_pressure'] as const;
const MAX_PORT_RANGES = 128;
/** How long waitForPeer polls on every event-loop turn before it backs off to 1 ms timers. */
const PEER_WAIT_SPIN_NS = 500_000;
const PORTS_VALUE_SIZE = 8 + 8 * MAX_PORT_RANGES;

const ENOMEM = 12;
const EEXIST = 17;
const ENOSPC = 28;
const E2BIG = 7;
const EBUSY = 16;
const EOPNOTSUPP = 95;
const EPERM = 1;
const EACCES = 13;

interface MapSpec {
  name: string;
  type: number;
  keySize: number;
  valueSize: number;
  required: boolean;
}

const MAP_SPECS: MapSpec[] = [
  { name: MAP_SOCKHASH, type: bpf.BPF_MAP_TYPE_SOCKHASH, keySize: SOCK_KEY_SIZE, valueSize: 8, required: true },
  { name: 'envoy_counters', type: bpf.BPF_MAP_TYPE_PERCPU_ARRAY, keySize: 4, valueSize: 8, required: false },
  { name: 'envoy_ports', type: bpf.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: PORTS_VALUE_SIZE, required: false },
  { name: 'envoy_listeners', type: bpf.BPF_MAP_TYPE_HASH, keySize: LISTENER_KEY_SIZE, valueSize: 8, required: false },
  { name: 'envoy_pressure', type: bpf.BPF_MAP_TYPE_HASH, keySize: SOCK_KEY_SIZE, valueSize: 1, required: false },
];

function possibleCpus(): number {
  const text = fs.readFileSync('/sys/devices/system/cpu/possible', 'utf8').trim();
  let n = 0;
  for (const part of text.split(',')) {
    const [a, b] = part.split('-').map(Number);
    n += b === undefined ? 1 : b - a + 1;
  }
  return n;
}

function u64(v: bigint | number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(v));
  return b;
}

/** Checks the file before libbpf sees it, to say precisely what is wrong. */
function checkObjectFile(p: string): void {
  let head: Buffer;
  try {
    const fd = fs.openSync(p, 'r');
    head = Buffer.alloc(20);
    fs.readSync(fd, head, 0, 20, 0);
    fs.closeSync(fd);
  } catch (e) {
    throw new DatapathError(`bpf_program_path ${p}: file missing or unreadable (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  if (head.readUInt32BE(0) !== 0x7f454c46) throw new DatapathError(`bpf_program_path ${p}: not an ELF file (expected a compiled eBPF object)`);
  const machine = head[5] === 1 ? head.readUInt16LE(18) : head.readUInt16BE(18);
  if (machine !== 247) throw new DatapathError(`bpf_program_path ${p}: an ELF file but not a BPF object (e_machine ${machine}, expected 247 EM_BPF)`);
}

function encodePorts(ranges: { start: number; end: number }[]): Buffer {
  if (ranges.length > MAX_PORT_RANGES) throw new DatapathError(`accelerated_ports: at most ${MAX_PORT_RANGES} ranges, got ${ranges.length}`);
  const b = Buffer.alloc(PORTS_VALUE_SIZE);
  b.writeUInt32LE(ranges.length, 0);
  ranges.forEach((r, i) => {
    if (!(r.start >= 1 && r.start < r.end && r.end <= 65536)) throw new DatapathError(`accelerated_ports: bad range [${r.start}, ${r.end})`);
    b.writeUInt32LE(r.start, 8 + 8 * i);
    b.writeUInt32LE(r.end, 12 + 8 * i);
  });
  return b;
}

/**
 * The process that owns a published listener: a --concurrency worker's listener lives as long as
 * its primary (the parent), so the primary's pid is published.
 */
function listenerOwnerPid(): number {
  return cluster.isWorker ? process.ppid : process.pid;
}

function processAlive(pid: number): boolean {
  if (pid <= 1) return true; // an entry written by an older version (value 1): cannot tell
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** Runs one pinning step; its failure becomes a DatapathError naming the pin dir. */
function pinStep<T>(pinDir: string, step: () => T): T {
  try {
    return step();
  } catch (e) {
    if (e instanceof PinError) throw new DatapathError(e.message);
    throw new DatapathError(`pin path ${pinDir}: ${(e as Error).message}`);
  }
}

export class BpfDatapath implements SockmapDatapath {
  private readonly registered = new Map<number, Buffer>();
  /** Descriptors whose envoy_pressure entry this process set. */
  private readonly pressured = new Set<number>();
  private readonly cpus = possibleCpus();
  private skMsgLinkFd = -1;
  private cgroupLinkFd = -1;
  private closed = false;
  private netnsCookie: bigint | undefined;

  private constructor(
    private readonly obj: bpf.BpfObjectPtr,
    private readonly fds: ReadonlyMap<string, number>,
    /** Program ids, for leak checks with bpftool. */
    readonly progIds: { sockops: number; skMsg: number },
    private readonly skMsgProgFd: number,
    readonly pinDir: string,
    private readonly logger: Logger,
  ) {}

  /** Loads, verifies, pins and attaches. Throws DatapathError with the reason. */
  static open(options: DatapathOptions, logger: Logger): BpfDatapath {
    checkObjectFile(options.bpfProgramPath);
    if (!Number.isInteger(options.sockhashMaxEntries) || options.sockhashMaxEntries < 1) {
      throw new DatapathError(`sockhash_max_entries must be >= 1, got ${options.sockhashMaxEntries}`);
    }
    const ports = encodePorts(options.acceleratedPorts);
    let obj: bpf.BpfObjectPtr;
    try {
      obj = bpf.objectOpen(options.bpfProgramPath);
    } catch (e) {
      throw new DatapathError(`bpf_program_path ${options.bpfProgramPath}: libbpf cannot open the object: ${(e as Error).message}`);
    }
    let dp: BpfDatapath | undefined;
    try {
      dp = BpfDatapath.loadOpened(obj, options, ports, logger);
      return dp;
    } finally {
      if (!dp) bpf.objectClose(obj);
    }
  }

  private static loadOpened(obj: bpf.BpfObjectPtr, options: DatapathOptions, ports: Buffer, logger: Logger): BpfDatapath {
    const where = `bpf_program_path ${options.bpfProgramPath}`;
    const sockops = bpf.findProgram(obj, PROG_SOCKOPS);
    const skMsg = bpf.findProgram(obj, PROG_SK_MSG);
    if (!sockops || !skMsg) throw new DatapathError(`${where}: program ${!sockops ? PROG_SOCKOPS : PROG_SK_MSG} not found`);
    if (bpf.programType(sockops) !== bpf.BPF_PROG_TYPE_SOCK_OPS) throw new DatapathError(`${where}: ${PROG_SOCKOPS} is not a sock_ops program (SEC("sockops"))`);
    if (bpf.programType(skMsg) !== bpf.BPF_PROG_TYPE_SK_MSG) throw new DatapathError(`${where}: ${PROG_SK_MSG} is not an sk_msg program (SEC("sk_msg"))`);

    const maps = new Map<string, bpf.BpfMapPtr>();
    for (const spec of MAP_SPECS) {
      const map = bpf.findMap(obj, spec.name);
      if (!map) {
        if (spec.required) throw new DatapathError(`${where}: map ${spec.name} not found`);
        logger.warn(`${where}: map ${spec.name} not found; its feature is disabled`);
        continue;
      }
      const s = bpf.mapShape(map);
      if (s.type !== spec.type) throw new DatapathError(`${where}: map ${spec.name} has type ${s.type}, expected ${spec.type}`);
      if (s.keySize !== spec.keySize || s.valueSize !== spec.valueSize) {
        throw new DatapathError(
          `${where}: map ${spec.name} has key ${s.keySize} B / value ${s.valueSize} B, expected ${spec.keySize} B / ${spec.valueSize} B: a custom object with a different key layout`,
        );
      }
      maps.set(spec.name, map);
    }
    if (options.acceleratedPorts.length > 0 && !maps.has('envoy_ports')) throw new DatapathError(`${where}: accelerated_ports is set but the object has no envoy_ports map`);
    bpf.mapSetMaxEntries(maps.get(MAP_SOCKHASH) as bpf.BpfMapPtr, options.sockhashMaxEntries);

    const pinDir = options.pinPath || defaultPinDir();
    if (!pinDir) throw new DatapathError('no bpffs is mounted (mount -t bpf bpf /sys/fs/bpf) and pin_path is not set');
    const shared = new Map([...maps].filter(([name]) => (SHARED_MAPS as readonly string[]).includes(name)));
    pinStep(pinDir, () => preparePinDir(pinDir));
    withPinDirLock(pinDir, () => {
      const toPin = pinStep(pinDir, () => reusePinned(pinDir, shared));
      try {
        bpf.objectLoad(obj);
      } catch (e) {
        const errno = e instanceof bpf.LibbpfError ? e.errno : 0;
        if (errno === EPERM || errno === EACCES) {
          throw new DatapathError(`no privileges to load eBPF programs (needs CAP_BPF and CAP_NET_ADMIN, or CAP_SYS_ADMIN): ${(e as Error).message}`);
        }
        throw new DatapathError(`the kernel refused to load ${options.bpfProgramPath}: ${(e as Error).message}`);
      }
      pinStep(pinDir, () => pinMissing(pinDir, shared, toPin));
    });

    const fds = new Map<string, number>();
    for (const [name, map] of maps) fds.set(name, bpf.mapFd(map));
    const progIds = { sockops: bpf.objId(bpf.programFd(sockops)), skMsg: bpf.objId(bpf.programFd(skMsg)) };
    const dp = new BpfDatapath(obj, fds, progIds, bpf.programFd(skMsg), pinDir, logger);
    try {
      const portsFd = fds.get('envoy_ports');
      if (portsFd !== undefined && bpf.mapUpdate(portsFd, Buffer.alloc(4), ports, bpf.BPF_ANY) < 0) throw new DatapathError('cannot write envoy_ports');
      dp.attachSkMsg(true);
      if (options.cgroupPath && options.attachCgroup) dp.attachCgroup(options.cgroupPath, bpf.programFd(sockops));
    } catch (e) {
      dp.closeLinks();
      throw e;
    }
    return dp;
  }

  /**
   * The sk_msg program is attached to the shared sockhash once, by whichever process gets there
   * first, through a BPF link owned by that process. When the owning process exits (even kill -9)
   * its link fd is closed and the kernel detaches the program: sockets already in the map keep the
   * program they were added with, but sockets added afterwards get none (their sends go over TCP)
   * until a surviving process calls ensureAttached(), which attaches its own copy.
   */
  private attachSkMsg(strict: boolean): void {
    const sockhash = this.fds.get(MAP_SOCKHASH) as number;
    const attached = bpf.progQuery(sockhash, bpf.BPF_SK_MSG_VERDICT);
    if (Array.isArray(attached) && attached.length > 0) return; // another live process owns it
    const fd = bpf.linkCreate(this.skMsgProgFd, sockhash, bpf.BPF_SK_MSG_VERDICT);
    if (fd >= 0) {
      this.skMsgLinkFd = fd;
      return;
    }
    if (-fd === EBUSY || -fd === EEXIST) return; // lost a race with another process: fine
    if (strict) throw new DatapathError(`cannot attach ${PROG_SK_MSG} to ${MAP_SOCKHASH} with a BPF link: ${bpf.errnoText(fd)}`);
    this.logger.warn(`cannot attach ${PROG_SK_MSG} to ${MAP_SOCKHASH}: ${bpf.errnoText(fd)}`);
  }

  private attachCgroup(cgroupPath: string, progFd: number): void {
    const problem = cgroup2Problem(cgroupPath);
    if (problem) throw new DatapathError(`cgroup_path ${cgroupPath} is not a cgroup v2 directory: ${problem}`);
    const cgFd = fs.openSync(cgroupPath, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
    try {
      // A link, never legacy bpf_prog_attach: the attachment dies with this process.
      const fd = bpf.linkCreate(progFd, cgFd, bpf.BPF_CGROUP_SOCK_OPS);
      if (fd < 0) throw new DatapathError(`cannot attach ${PROG_SOCKOPS} to cgroup ${cgroupPath}: ${bpf.errnoText(fd)}`);
      this.cgroupLinkFd = fd;
    } finally {
      fs.closeSync(cgFd);
    }
  }

  /** Cheap (one BPF_PROG_QUERY): re-attaches sk_msg if no live process has it attached. */
  ensureAttached(): void {
    if (this.closed || this.skMsgLinkFd >= 0) return;
    this.attachSkMsg(false);
  }

  /** True when this process owns the sk_msg link. */
  get ownsSkMsgLink(): boolean {
    return this.skMsgLinkFd >= 0;
  }

  /** Ids of the links this process holds (for leak checks). */
  linkIds(): number[] {
    return [this.skMsgLinkFd, this.cgroupLinkFd].filter((fd) => fd >= 0).map((fd) => bpf.objId(fd));
  }

  private fd(name: string): number | undefined {
    return this.closed ? undefined : this.fds.get(name);
  }

  private keyOf(fd: number): Buffer | undefined {
    const cached = this.registered.get(fd);
    if (cached) return cached;
    const t = readSocketTuple(fd);
    return t ? encodeTuple(t) : undefined;
  }

  /**
   * The socket's 4-tuple: from the addresses Node already knows when given (no system call; the
   * socket is in this process's netns), else read from the descriptor.
   */
  private tupleOf(fd: number, endpoints?: SocketEndpoints): SockTuple | undefined {
    if (!endpoints) return readSocketTuple(fd);
    const { localAddress, localPort, remoteAddress, remotePort } = endpoints;
    if (!localAddress || !remoteAddress || !localPort || !remotePort) return readSocketTuple(fd);
    if (!isIp4(localAddress) || !isIp4(remoteAddress)) return undefined;
    return { netnsCookie: this.ownNetns(), localIp4: localAddress, remoteIp4: remoteAddress, localPort, remotePort };
  }

  registerSocket(fd: number, endpoints?: SocketEndpoints): RegisterResult {
    const sockhash = this.fd(MAP_SOCKHASH);
    if (sockhash === undefined) return 'failed';
    const t = this.tupleOf(fd, endpoints);
    if (!t) return 'not_ipv4';
    const key = encodeTuple(t);
    const r = bpf.mapUpdate(sockhash, key, u64(fd), bpf.BPF_NOEXIST);
    if (r === 0) {
      this.registered.set(fd, key);
      return 'registered';
    }
    if (-r === EEXIST || -r === EBUSY) {
      // EEXIST: the key is taken; EBUSY: this socket is already in the map (e.g. added by
      // sock_ops). Either way it is 'exists' only when the entry is this very socket.
      const v = Buffer.alloc(8);
      if (bpf.mapLookup(sockhash, key, v) === 0 && v.readBigUInt64LE(0) === bpf.getsockoptU64(fd, bpf.SO_COOKIE)) {
        this.registered.set(fd, key);
        return 'exists';
      }
      return 'failed';
    }
    if (-r === E2BIG || -r === ENOMEM || -r === ENOSPC) return 'map_full';
    // The kernel only takes established sockets: the peer already closed or reset this one.
    if (-r === EOPNOTSUPP) return 'not_established';
    this.logger.debug(`registerSocket(${fd}): ${bpf.errnoText(r)}`);
    return 'failed';
  }

  /**
   * Forgets a socket that closed without unregisterSocket (e.g. Node destroyed it on a reset): the
   * kernel already removed its entries, and its descriptor number may now belong to a new socket, so
   * nothing in the maps is touched.
   */
  forgetSocket(fd: number): void {
    this.registered.delete(fd);
    this.pressured.delete(fd);
  }

  /**
   * Deletes the socket's entry. Called while the socket is still open, so the entry under its key
   * can only be this socket: no other live TCP socket in the same netns has the same 4-tuple.
   */
  unregisterSocket(fd: number): void {
    const key = this.keyOf(fd);
    this.registered.delete(fd);
    const sockhash = this.fd(MAP_SOCKHASH);
    if (!key || sockhash === undefined) return;
    bpf.mapDelete(sockhash, key);
    const pressure = this.fd('envoy_pressure');
    if (pressure !== undefined && this.pressured.delete(fd)) bpf.mapDelete(pressure, key);
  }

  private ownNetns(): bigint {
    this.netnsCookie ??= bpf.processNetnsCookie();
    return this.netnsCookie;
  }

  /** A listener of this process at address:port (IPv4 only; '0.0.0.0' = any address). */
  publishListener(address: string, port: number): void {
    const listeners = this.fd('envoy_listeners');
    if (listeners === undefined || !isIp4(address)) return;
    bpf.mapUpdate(listeners, encodeListenerKey(this.ownNetns(), address, port), u64(listenerOwnerPid()), bpf.BPF_ANY);
  }

  unpublishListener(address: string, port: number): void {
    const listeners = this.fd('envoy_listeners');
    if (listeners === undefined || !isIp4(address)) return;
    bpf.mapDelete(listeners, encodeListenerKey(this.ownNetns(), address, port));
  }

  peerIsPublishedListener(fd: number, endpoints?: SocketEndpoints): boolean {
    return this.publishedListenerOf(fd, endpoints) !== undefined;
  }

  /** The envoy_listeners entry (key and owner pid) for the connected socket's peer address. */
  private publishedListenerOf(fd: number, endpoints?: SocketEndpoints): { key: Buffer; pid: number } | undefined {
    const listeners = this.fd('envoy_listeners');
    const t = listeners === undefined ? undefined : this.tupleOf(fd, endpoints);
    if (!t || listeners === undefined) return undefined;
    const v = Buffer.alloc(8);
    for (const ip of [t.remoteIp4, '0.0.0.0']) {
      const key = encodeListenerKey(t.netnsCookie, ip, t.remotePort);
      if (bpf.mapLookup(listeners, key, v) === 0) return { key, pid: Number(v.readBigUInt64LE(0)) };
    }
    return undefined;
  }

  dropStaleListener(fd: number, endpoints?: SocketEndpoints): boolean {
    const listeners = this.fd('envoy_listeners');
    const entry = this.publishedListenerOf(fd, endpoints);
    if (listeners === undefined || !entry || processAlive(entry.pid)) return false;
    bpf.mapDelete(listeners, entry.key);
    return true;
  }

  private peerKey(fd: number, endpoints?: SocketEndpoints): Buffer | undefined {
    const t = this.tupleOf(fd, endpoints);
    return t ? encodeTuple(peerTuple(t)) : undefined;
  }

  peerRegistered(fd: number, endpoints?: SocketEndpoints): boolean {
    const sockhash = this.fd(MAP_SOCKHASH);
    const peer = this.peerKey(fd, endpoints);
    return sockhash !== undefined && peer !== undefined && bpf.mapLookup(sockhash, peer, Buffer.alloc(8)) === 0;
  }

  /**
   * Polls until the peer is in the sockhash. A peer usually registers within ~0.2 ms, so the first
   * polls run on every event-loop turn; after that they back off to timers, so that a slow peer
   * (a busy worker, on a machine with few cores) is not starved by this process spinning.
   */
  waitForPeer(fd: number, timeoutMs: number, endpoints?: SocketEndpoints): Promise<boolean> {
    const peer = this.peerKey(fd, endpoints);
    if (!peer) return Promise.resolve(false);
    const value = Buffer.alloc(8);
    const start = process.hrtime.bigint();
    const spinUntil = start + BigInt(PEER_WAIT_SPIN_NS);
    const deadline = start + BigInt(Math.round(timeoutMs * 1e6));
    return new Promise((resolve) => {
      const poll = (): void => {
        const sockhash = this.fd(MAP_SOCKHASH);
        if (sockhash === undefined) return resolve(false);
        if (bpf.mapLookup(sockhash, peer, value) === 0) return resolve(true);
        const now = process.hrtime.bigint();
        if (now >= deadline) return resolve(false);
        if (now < spinUntil) setImmediate(poll);
        else setTimeout(poll, 1);
      };
      poll();
    });
  }

  setPressure(fd: number, on: boolean): void {
    const pressure = this.fd('envoy_pressure');
    const key = this.keyOf(fd);
    if (pressure === undefined || !key) return;
    if (on) {
      bpf.mapUpdate(pressure, key, Buffer.from([1]), bpf.BPF_ANY);
      this.pressured.add(fd);
    } else if (this.pressured.delete(fd)) {
      bpf.mapDelete(pressure, key);
    }
  }

  unreadBytes(fd: number): number {
    return Math.max(0, bpf.unreadBytes(fd));
  }

  /** envoy_counters summed over CPUs (shared by every process on the pin dir). */
  counters(): Record<string, number> {
    const out: Record<string, number> = {};
    const fd = this.fd('envoy_counters');
    if (fd === undefined) return out;
    const key = Buffer.alloc(4);
    const value = Buffer.alloc(8 * this.cpus);
    COUNTER_NAMES.forEach((name, i) => {
      key.writeUInt32LE(i);
      let sum = 0n;
      if (bpf.mapLookup(fd, key, value) === 0) for (let c = 0; c < this.cpus; c++) sum += value.readBigUInt64LE(8 * c);
      out[name] = Number(sum);
    });
    return out;
  }

  /** Number of sockets in the sockhash (walks the keys; for tests and diagnostics). */
  sockhashEntries(): number {
    const fd = this.fd(MAP_SOCKHASH);
    if (fd === undefined) return 0;
    let n = 0;
    let key: Buffer | null = null;
    const next = Buffer.alloc(SOCK_KEY_SIZE);
    while (bpf.mapNextKey(fd, key, next) === 0 && n < 1 << 24) {
      n++;
      key = Buffer.from(next);
    }
    return n;
  }

  private closeLinks(): void {
    for (const fd of [this.skMsgLinkFd, this.cgroupLinkFd]) if (fd >= 0) fs.closeSync(fd);
    this.skMsgLinkFd = -1;
    this.cgroupLinkFd = -1;
  }

  /** Destroys this process's links and closes its fds. Pinned shared maps stay (see unpin()). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.closeLinks();
    this.registered.clear();
    bpf.objectClose(this.obj);
  }

  /** Removes the pinned shared maps (tests; or the last process of a deployment). */
  unpin(): void {
    unpinAll(this.pinDir, [...SHARED_MAPS]);
  }
}

