/**
 * Mirror of bpf/sockmap_key.h: builds the sockhash key of a socket byte for byte as the eBPF
 * programs do (addresses in network order, ports in host order, native-endian integers).
 */
import * as os from 'node:os';
import { getsockoptU64, sockAddr, SO_NETNS_COOKIE, SO_TYPE } from './libbpf';

export const SOCK_KEY_SIZE = 24;
export const LISTENER_KEY_SIZE = 16;
const AF_INET = 2;
const SOCK_STREAM = 1;
const LE = os.endianness() === 'LE';

/** The IPv4 4-tuple of a connected socket, from its own point of view, plus its netns cookie. */
export interface SockTuple {
  netnsCookie: bigint;
  /** Dotted quad. */
  localIp4: string;
  remoteIp4: string;
  localPort: number;
  remotePort: number;
}

function writeIp4(buf: Buffer, offset: number, ip: string): void {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new RangeError(`not an IPv4 address: ${ip}`);
  }
  parts.forEach((p, i) => buf.writeUInt8(p, offset + i)); // network order = address bytes in order
}

function writeU32(buf: Buffer, offset: number, v: number): void {
  if (LE) buf.writeUInt32LE(v, offset);
  else buf.writeUInt32BE(v, offset);
}

function writeU64(buf: Buffer, offset: number, v: bigint): void {
  if (LE) buf.writeBigUInt64LE(v, offset);
  else buf.writeBigUInt64BE(v, offset);
}

/** struct envoy_sock_key. */
export function encodeSockKey(netnsCookie: bigint, localIp4: string, remoteIp4: string, localPort: number, remotePort: number): Buffer {
  const b = Buffer.alloc(SOCK_KEY_SIZE);
  writeU64(b, 0, netnsCookie);
  writeIp4(b, 8, localIp4);
  writeIp4(b, 12, remoteIp4);
  writeU32(b, 16, localPort);
  writeU32(b, 20, remotePort);
  return b;
}

export function encodeTuple(t: SockTuple): Buffer {
  return encodeSockKey(t.netnsCookie, t.localIp4, t.remoteIp4, t.localPort, t.remotePort);
}

/** The key the peer socket has: local and remote swapped, same netns. */
export function peerTuple(t: SockTuple): SockTuple {
  return { netnsCookie: t.netnsCookie, localIp4: t.remoteIp4, remoteIp4: t.localIp4, localPort: t.remotePort, remotePort: t.localPort };
}

/** struct envoy_listener_key; ip '0.0.0.0' for a wildcard listener. */
export function encodeListenerKey(netnsCookie: bigint, ip4: string, port: number): Buffer {
  const b = Buffer.alloc(LISTENER_KEY_SIZE);
  writeU64(b, 0, netnsCookie);
  writeIp4(b, 8, ip4);
  writeU32(b, 12, port);
  return b;
}

export function isIp4(address: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(address);
}

interface Ip4Addr {
  ip: string;
  port: number;
}

function parseSockaddrIn(addr: Buffer | undefined): Ip4Addr | undefined {
  if (!addr || addr.length < 8) return undefined;
  const family = LE ? addr.readUInt16LE(0) : addr.readUInt16BE(0);
  if (family !== AF_INET) return undefined; // AF_INET6 (also v4-mapped), AF_UNIX, ...
  return { ip: `${addr[4]}.${addr[5]}.${addr[6]}.${addr[7]}`, port: addr.readUInt16BE(2) };
}

/** The netns cookie of a socket, or undefined when the kernel cannot tell (not a socket). */
export function netnsCookieOf(fd: number): bigint | undefined {
  const c = getsockoptU64(fd, SO_NETNS_COOKIE);
  return c < 0n ? undefined : c;
}

/**
 * The tuple of a connected IPv4 stream socket; undefined for anything else (IPv6 including
 * v4-mapped, Unix, UDP, not connected, not a socket).
 */
export function readSocketTuple(fd: number): SockTuple | undefined {
  if (getsockoptU64(fd, SO_TYPE) !== BigInt(SOCK_STREAM)) return undefined;
  const local = parseSockaddrIn(sockAddr(fd, false));
  if (!local) return undefined;
  const remote = parseSockaddrIn(sockAddr(fd, true));
  if (!remote) return undefined;
  const netnsCookie = netnsCookieOf(fd);
  if (netnsCookie === undefined) return undefined;
  return { netnsCookie, localIp4: local.ip, remoteIp4: remote.ip, localPort: local.port, remotePort: remote.port };
}
