/**
 * The only FFI module of the sockmap datapath: thin, typed wrappers over libbpf.so.1 (libbpf 1.x:
 * low-level calls return -errno, pointer-returning calls return NULL and set errno) and a few libc
 * socket calls. Nothing is dlopen'ed until the first call.
 */
import * as util from 'node:util';

/** C argument kinds: 32-bit ints, 64-bit ints, pointers (a Buffer, an address, or null). */
type ArgKind = 'int' | 'uint32' | 'uint64' | 'pointer';
type RetKind = 'int' | 'uint32' | 'pointer' | 'void';
type Arg = number | bigint | Buffer | null;
type Fn = (...args: Arg[]) => number;

interface Native {
  bpf: Record<string, Fn>;
  libc: Record<string, Fn>;
  errno: () => number;
}

/** Opaque libbpf object handles (addresses returned by libbpf). */
export type BpfObjectPtr = number & { readonly __bpfObject: unique symbol };
export type BpfMapPtr = number & { readonly __bpfMap: unique symbol };
export type BpfProgramPtr = number & { readonly __bpfProgram: unique symbol };

export const BPF_MAP_TYPE_HASH = 1;
export const BPF_MAP_TYPE_ARRAY = 2;
export const BPF_MAP_TYPE_PERCPU_ARRAY = 6;
export const BPF_MAP_TYPE_SOCKHASH = 18;
export const BPF_PROG_TYPE_SOCK_OPS = 13;
export const BPF_PROG_TYPE_SK_MSG = 16;
export const BPF_CGROUP_SOCK_OPS = 3;
export const BPF_SK_MSG_VERDICT = 7;
export const BPF_ANY = 0;
export const BPF_NOEXIST = 1;
export const SOL_SOCKET = 1;
export const SO_TYPE = 3;
export const SO_COOKIE = 57;
export const SO_NETNS_COOKIE = 71;


const BPF_SIGS: Record<string, [RetKind, ArgKind[]]> = {
  libbpf_set_print: ['pointer', ['pointer']],
  bpf_object__open_file: ['pointer', ['pointer', 'pointer']],
  bpf_object__load: ['int', ['pointer']],
  bpf_object__close: ['void', ['pointer']],
  bpf_object__find_map_by_name: ['pointer', ['pointer', 'pointer']],
  bpf_object__find_program_by_name: ['pointer', ['pointer', 'pointer']],
  bpf_map__set_max_entries: ['int', ['pointer', 'uint32']],
  bpf_map__max_entries: ['uint32', ['pointer']],
  bpf_map__key_size: ['uint32', ['pointer']],
  bpf_map__value_size: ['uint32', ['pointer']],
  bpf_map__type: ['int', ['pointer']],
  bpf_map__fd: ['int', ['pointer']],
  bpf_map__reuse_fd: ['int', ['pointer', 'int']],
  bpf_program__fd: ['int', ['pointer']],
  bpf_program__type: ['int', ['pointer']],
  bpf_map_update_elem: ['int', ['int', 'pointer', 'pointer', 'uint64']],
  bpf_map_lookup_elem: ['int', ['int', 'pointer', 'pointer']],
  bpf_map_delete_elem: ['int', ['int', 'pointer']],
  bpf_map_get_next_key: ['int', ['int', 'pointer', 'pointer']],
  bpf_obj_get: ['int', ['pointer']],
  bpf_obj_pin: ['int', ['int', 'pointer']],
  bpf_obj_get_info_by_fd: ['int', ['int', 'pointer', 'pointer']],
  bpf_link_create: ['int', ['int', 'int', 'int', 'pointer']],
  bpf_prog_query: ['int', ['int', 'int', 'uint32', 'pointer', 'pointer', 'pointer']],
};

const LIBC_SIGS: Record<string, [RetKind, ArgKind[]]> = {
  getsockopt: ['int', ['int', 'int', 'int', 'pointer', 'pointer']],
  getsockname: ['int', ['int', 'pointer', 'pointer']],
  getpeername: ['int', ['int', 'pointer', 'pointer']],
  socket: ['int', ['int', 'int', 'int']],
  close: ['int', ['int']],
  ioctl: ['int', ['int', 'uint64', 'pointer']],
  flock: ['int', ['int', 'int']],
};

let native: Native | undefined;
/** Buffer arguments up to this size go through the scratch area (see bind). */
const SCRATCH_BYTES = 256;

function load(): Native {
  if (native) return native;
  // Lazy on purpose: the stub build and plain imports never load ffi or libbpf.
  /* eslint-disable @typescript-eslint/no-require-imports */
  const ffi = require('@2060.io/ffi-napi') as typeof import('@2060.io/ffi-napi');
  const ref = require('@2060.io/ref-napi') as typeof import('@2060.io/ref-napi');
  const bindings = require('@2060.io/ffi-napi/lib/bindings') as typeof import('@2060.io/ffi-napi/lib/bindings');
  /* eslint-enable @typescript-eslint/no-require-imports */

  // One preallocated argument area per function: ffi_call reads argument i from argv[i], which
  // points at slot i of `slots`. Writing plain integers there avoids ffi-napi's per-argument
  // allocations. Calls are synchronous, so reusing the area is safe.
  // Small Buffer arguments (keys, values, sockaddrs) are copied into a per-function scratch area
  // whose address is taken once, and copied back after the call: ref.address() on a fresh small
  // Buffer moves it off the V8 heap and registers a finalizer, which cost more than the call itself.
  const bind = (lib: InstanceType<typeof ffi.DynamicLibrary>, name: string, [ret, args]: [RetKind, ArgKind[]]): Fn => {
    const cif = ffi.CIF(ret, args);
    const fn = lib.get(name);
    const slots = Buffer.alloc(8 * Math.max(args.length, 1));
    const argv = Buffer.alloc(8 * Math.max(args.length, 1));
    const result = Buffer.alloc(8);
    const scratch = Buffer.alloc(SCRATCH_BYTES * Math.max(args.length, 1));
    const scratchBase = BigInt(ref.address(scratch));
    const base = ref.address(slots);
    args.forEach((_a, i) => argv.writeBigUInt64LE(BigInt(base + 8 * i), 8 * i));
    return (...vals: Arg[]): number => {
      for (let i = 0; i < args.length; i++) {
        const v = vals[i];
        if (v === null || v === undefined) slots.writeBigUInt64LE(0n, 8 * i);
        else if (Buffer.isBuffer(v) && v.length <= SCRATCH_BYTES) {
          v.copy(scratch, i * SCRATCH_BYTES);
          slots.writeBigUInt64LE(scratchBase + BigInt(i * SCRATCH_BYTES), 8 * i);
        } else if (Buffer.isBuffer(v)) slots.writeBigUInt64LE(BigInt(ref.address(v)), 8 * i);
        else if (typeof v === 'bigint') slots.writeBigUInt64LE(v, 8 * i);
        else if (args[i] === 'int') slots.writeInt32LE(v, 8 * i);
        else slots.writeBigUInt64LE(BigInt(v), 8 * i);
      }
      bindings.ffi_call(cif, fn, result, argv);
      for (let i = 0; i < args.length; i++) {
        const v = vals[i];
        if (Buffer.isBuffer(v) && v.length <= SCRATCH_BYTES) scratch.copy(v, 0, i * SCRATCH_BYTES, i * SCRATCH_BYTES + v.length);
      }
      if (ret === 'pointer') return Number(result.readBigUInt64LE(0));
      return ret === 'uint32' ? result.readUInt32LE(0) : result.readInt32LE(0);
    };
  };
  const bindAll = (path: string, sigs: Record<string, [RetKind, ArgKind[]]>): Record<string, Fn> => {
    const lib = new ffi.DynamicLibrary(path);
    return Object.fromEntries(Object.entries(sigs).map(([name, sig]) => [name, bind(lib, name, sig)]));
  };
  const bpf = bindAll('libbpf.so.1', BPF_SIGS);
  const libc = bindAll('libc.so.6', LIBC_SIGS);
  if (!process.env.ENVOY_TS_LIBBPF_DEBUG) bpf.libbpf_set_print(null); // silence libbpf's stderr
  native = { bpf, libc, errno: ffi.errno };
  return native;
}

function cstr(s: string): Buffer {
  return Buffer.from(`${s}\0`, 'utf8');
}

/** An error from libbpf or libc, with the errno name and text. */
export class LibbpfError extends Error {
  constructor(readonly call: string, readonly errno: number) {
    super(`${call}: ${errnoText(errno)}`);
    this.name = 'LibbpfError';
  }
}

const ERRNOS = util.getSystemErrorMap();

/** "EPERM (operation not permitted)". */
export function errnoText(errno: number): string {
  const e = Math.abs(errno);
  const [name, text] = ERRNOS.get(-e) ?? [`errno ${e}`, 'unknown error'];
  return `${name} (${text})`;
}

function num(v: unknown): number {
  return typeof v === 'number' ? v : Number(v);
}

function ptrOrThrow<T extends number>(call: string, p: number): T {
  if (!p) throw new LibbpfError(call, load().errno() || 22);
  return p as T;
}

function check(call: string, ret: unknown): number {
  const r = num(ret);
  if (r < 0) throw new LibbpfError(call, -r);
  return r;
}

// ---- objects, maps, programs (libbpf high-level API) ----

export function objectOpen(path: string): BpfObjectPtr {
  return ptrOrThrow<BpfObjectPtr>('bpf_object__open_file', load().bpf.bpf_object__open_file(cstr(path), null));
}
export function objectLoad(obj: BpfObjectPtr): void {
  check('bpf_object__load', load().bpf.bpf_object__load(obj));
}
export function objectClose(obj: BpfObjectPtr): void {
  load().bpf.bpf_object__close(obj);
}
export function findMap(obj: BpfObjectPtr, name: string): BpfMapPtr | undefined {
  const p = load().bpf.bpf_object__find_map_by_name(obj, cstr(name));
  return p ? (p as BpfMapPtr) : undefined;
}
export function findProgram(obj: BpfObjectPtr, name: string): BpfProgramPtr | undefined {
  const p = load().bpf.bpf_object__find_program_by_name(obj, cstr(name));
  return p ? (p as BpfProgramPtr) : undefined;
}

export interface MapShape {
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
}

export function mapShape(map: BpfMapPtr): MapShape {
  const b = load().bpf;
  return {
    type: num(b.bpf_map__type(map)),
    keySize: num(b.bpf_map__key_size(map)),
    valueSize: num(b.bpf_map__value_size(map)),
    maxEntries: num(b.bpf_map__max_entries(map)),
  };
}
export function mapSetMaxEntries(map: BpfMapPtr, n: number): void {
  check('bpf_map__set_max_entries', load().bpf.bpf_map__set_max_entries(map, n));
}
export function mapReuseFd(map: BpfMapPtr, fd: number): void {
  check('bpf_map__reuse_fd', load().bpf.bpf_map__reuse_fd(map, fd));
}
export function mapFd(map: BpfMapPtr): number {
  return check('bpf_map__fd', load().bpf.bpf_map__fd(map));
}
export function programFd(prog: BpfProgramPtr): number {
  return check('bpf_program__fd', load().bpf.bpf_program__fd(prog));
}
export function programType(prog: BpfProgramPtr): number {
  return num(load().bpf.bpf_program__type(prog));
}

// ---- raw map access by fd: return 0 or -errno, no throw (hot path) ----

export function mapUpdate(fd: number, key: Buffer, value: Buffer, flags: number): number {
  return num(load().bpf.bpf_map_update_elem(fd, key, value, flags));
}
export function mapLookup(fd: number, key: Buffer, value: Buffer): number {
  return num(load().bpf.bpf_map_lookup_elem(fd, key, value));
}
export function mapDelete(fd: number, key: Buffer): number {
  return num(load().bpf.bpf_map_delete_elem(fd, key));
}
/** key null = first key. */
export function mapNextKey(fd: number, key: Buffer | null, next: Buffer): number {
  return num(load().bpf.bpf_map_get_next_key(fd, key, next));
}

// ---- fds: pinning, info, links, queries ----

export function objGet(path: string): number {
  return check(`bpf_obj_get(${path})`, load().bpf.bpf_obj_get(cstr(path)));
}
export function objPin(fd: number, path: string): void {
  check(`bpf_obj_pin(${path})`, load().bpf.bpf_obj_pin(fd, cstr(path)));
}
/** Raw bpf_*_info of a map, prog or link fd (first `size` bytes of the kernel struct). */
export function objInfo(fd: number, size = 64): Buffer {
  const info = Buffer.alloc(size);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(size); // __u32 in native order; x86/arm64 are little endian
  check('bpf_obj_get_info_by_fd', load().bpf.bpf_obj_get_info_by_fd(fd, info, len));
  return info;
}
/** Map fd -> shape and id (struct bpf_map_info: type, id, key_size, value_size, max_entries). */
export function mapInfoByFd(fd: number): MapShape & { id: number } {
  const i = objInfo(fd, 64);
  return { type: i.readUInt32LE(0), id: i.readUInt32LE(4), keySize: i.readUInt32LE(8), valueSize: i.readUInt32LE(12), maxEntries: i.readUInt32LE(16) };
}
/** Prog or link fd -> id (offset 4 in both bpf_prog_info and bpf_link_info). */
export function objId(fd: number): number {
  return objInfo(fd, 16).readUInt32LE(4);
}
/** Returns the link fd, or -errno. */
export function linkCreate(progFd: number, targetFd: number, attachType: number): number {
  return num(load().bpf.bpf_link_create(progFd, targetFd, attachType, null));
}
/** Ids of programs attached to target (a cgroup fd or a sockmap fd) for attachType, or -errno. */
export function progQuery(targetFd: number, attachType: number): number[] | number {
  const flags = Buffer.alloc(4);
  const ids = Buffer.alloc(4 * 64);
  const cnt = Buffer.alloc(4);
  cnt.writeUInt32LE(64);
  const r = num(load().bpf.bpf_prog_query(targetFd, attachType, 0, flags, ids, cnt));
  if (r < 0) return r;
  const out: number[] = [];
  for (let i = 0; i < Math.min(cnt.readUInt32LE(0), 64); i++) out.push(ids.readUInt32LE(4 * i));
  return out;
}

// ---- libc sockets ----

/** getsockopt(fd, SOL_SOCKET, opt) as a u64 (SO_COOKIE, SO_NETNS_COOKIE) or int; -errno on failure. */
export function getsockoptU64(fd: number, opt: number): bigint {
  const n = load();
  const v = Buffer.alloc(8);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(8);
  if (num(n.libc.getsockopt(fd, SOL_SOCKET, opt, v, len)) < 0) return -BigInt(n.errno());
  return len.readUInt32LE(0) === 4 ? BigInt(v.readInt32LE(0)) : v.readBigUInt64LE(0);
}

/** struct sockaddr of a socket (local or peer); undefined on failure (e.g. ENOTCONN). */
export function sockAddr(fd: number, peer: boolean): Buffer | undefined {
  const n = load();
  const addr = Buffer.alloc(128);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(128);
  const r = num(peer ? n.libc.getpeername(fd, addr, len) : n.libc.getsockname(fd, addr, len));
  return r < 0 ? undefined : addr.subarray(0, len.readUInt32LE(0));
}

/** FIONREAD: bytes waiting unread (receive queue plus sockmap ingress queue); -errno on failure. */
export function unreadBytes(fd: number): number {
  const n = load();
  const v = Buffer.alloc(4);
  if (num(n.libc.ioctl(fd, 0x541b, v)) < 0) return -n.errno();
  return v.readInt32LE(0);
}

/** SO_NETNS_COOKIE of this process's network namespace (through a throwaway socket). */
export function processNetnsCookie(): bigint {
  const n = load();
  const fd = num(n.libc.socket(2 /* AF_INET */, 1 /* SOCK_STREAM */, 0));
  if (fd < 0) throw new LibbpfError('socket', n.errno());
  try {
    const c = getsockoptU64(fd, SO_NETNS_COOKIE);
    if (c < 0n) throw new LibbpfError('getsockopt(SO_NETNS_COOKIE)', Number(-c));
    return c;
  } finally {
    n.libc.close(fd);
  }
}

const LOCK_EX = 2;
const LOCK_UN = 8;

/** flock(2): an exclusive lock on an open file or directory (blocks), or its release. */
export function flock(fd: number, exclusive: boolean): void {
  const n = load();
  if (num(n.libc.flock(fd, exclusive ? LOCK_EX : LOCK_UN)) < 0) throw new LibbpfError('flock', n.errno());
}
