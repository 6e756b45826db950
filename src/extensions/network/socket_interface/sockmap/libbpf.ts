/**
 * The only FFI module of the sockmap datapath: thin, typed wrappers over libbpf.so.1 (libbpf 1.x:
 * low-level calls return -errno, pointer-returning calls return NULL and set errno) and a few libc
 * socket calls. Nothing is dlopen'ed until the first call.
 */
import type { FfiFunction } from '@2060.io/ffi-napi';

type Fn = FfiFunction;

interface Native {
  bpf: Record<string, Fn>;
  libc: Record<string, Fn>;
  errno: () => number;
  isNull: (b: Buffer) => boolean;
}

/** Opaque libbpf object handles (pointers returned by libbpf). */
export type BpfObjectPtr = Buffer & { readonly __bpfObject: unique symbol };
export type BpfMapPtr = Buffer & { readonly __bpfMap: unique symbol };
export type BpfProgramPtr = Buffer & { readonly __bpfProgram: unique symbol };

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

let native: Native | undefined;

function load(): Native {
  if (native) return native;
  // Lazy on purpose: the stub build and plain imports never load ffi or libbpf.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ffi = require('@2060.io/ffi-napi') as typeof import('@2060.io/ffi-napi');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ref = require('@2060.io/ref-napi') as typeof import('@2060.io/ref-napi');
  const P = 'pointer';
  const bpf = ffi.Library('libbpf.so.1', {
    libbpf_set_print: [P, [P]],
    bpf_object__open_file: [P, ['string', P]],
    bpf_object__load: ['int', [P]],
    bpf_object__close: ['void', [P]],
    bpf_object__find_map_by_name: [P, [P, 'string']],
    bpf_object__find_program_by_name: [P, [P, 'string']],
    bpf_map__set_max_entries: ['int', [P, 'uint32']],
    bpf_map__max_entries: ['uint32', [P]],
    bpf_map__key_size: ['uint32', [P]],
    bpf_map__value_size: ['uint32', [P]],
    bpf_map__type: ['int', [P]],
    bpf_map__fd: ['int', [P]],
    bpf_map__reuse_fd: ['int', [P, 'int']],
    bpf_program__fd: ['int', [P]],
    bpf_program__type: ['int', [P]],
    bpf_map_update_elem: ['int', ['int', P, P, 'uint64']],
    bpf_map_lookup_elem: ['int', ['int', P, P]],
    bpf_map_delete_elem: ['int', ['int', P]],
    bpf_map_get_next_key: ['int', ['int', P, P]],
    bpf_obj_get: ['int', ['string']],
    bpf_obj_pin: ['int', ['int', 'string']],
    bpf_obj_get_info_by_fd: ['int', ['int', P, P]],
    bpf_link_create: ['int', ['int', 'int', 'int', P]],
    bpf_prog_query: ['int', ['int', 'int', 'uint32', P, P, P]],
  });
  const libc = ffi.Library('libc.so.6', {
    getsockopt: ['int', ['int', 'int', 'int', P, P]],
    getsockname: ['int', ['int', P, P]],
    getpeername: ['int', ['int', P, P]],
    strerror: ['string', ['int']],
    socket: ['int', ['int', 'int', 'int']],
    close: ['int', ['int']],
    ioctl: ['int', ['int', 'ulong', P]],
  });
  if (!process.env.ENVOY_TS_LIBBPF_DEBUG) bpf.libbpf_set_print(null); // silence libbpf's stderr
  native = { bpf, libc, errno: ffi.errno, isNull: ref.isNull };
  return native;
}

/** An error from libbpf or libc, with the errno name and text. */
export class LibbpfError extends Error {
  constructor(readonly call: string, readonly errno: number) {
    super(`${call}: ${errnoText(errno)}`);
    this.name = 'LibbpfError';
  }
}

const ERRNO_NAMES = new Map<number, string>(
  Object.entries(require('node:os').constants.errno as Record<string, number>).map(([k, v]) => [v, k]),
);

/** "EPERM (Operation not permitted)". */
export function errnoText(errno: number): string {
  const e = Math.abs(errno);
  const text = native ? String(native.libc.strerror(e)) : `errno ${e}`;
  return `${ERRNO_NAMES.get(e) ?? `errno ${e}`} (${text})`;
}

function num(v: unknown): number {
  return typeof v === 'number' ? v : Number(v);
}

function ptrOrThrow<T extends Buffer>(call: string, v: unknown): T {
  const n = load();
  const b = v as Buffer;
  if (!b || n.isNull(b)) throw new LibbpfError(call, n.errno() || 22);
  return b as T;
}

function check(call: string, ret: unknown): number {
  const r = num(ret);
  if (r < 0) throw new LibbpfError(call, -r);
  return r;
}

// ---- objects, maps, programs (libbpf high-level API) ----

export function objectOpen(path: string): BpfObjectPtr {
  return ptrOrThrow<BpfObjectPtr>('bpf_object__open_file', load().bpf.bpf_object__open_file(path, null));
}
export function objectLoad(obj: BpfObjectPtr): void {
  check('bpf_object__load', load().bpf.bpf_object__load(obj));
}
export function objectClose(obj: BpfObjectPtr): void {
  load().bpf.bpf_object__close(obj);
}
export function findMap(obj: BpfObjectPtr, name: string): BpfMapPtr | undefined {
  const n = load();
  const p = n.bpf.bpf_object__find_map_by_name(obj, name) as Buffer;
  return !p || n.isNull(p) ? undefined : (p as BpfMapPtr);
}
export function findProgram(obj: BpfObjectPtr, name: string): BpfProgramPtr | undefined {
  const n = load();
  const p = n.bpf.bpf_object__find_program_by_name(obj, name) as Buffer;
  return !p || n.isNull(p) ? undefined : (p as BpfProgramPtr);
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
  return check(`bpf_obj_get(${path})`, load().bpf.bpf_obj_get(path));
}
export function objPin(fd: number, path: string): void {
  check(`bpf_obj_pin(${path})`, load().bpf.bpf_obj_pin(fd, path));
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
