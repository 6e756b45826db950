import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as net from 'node:net';

import { sha256 } from '../helpers/net';

export { freePort, sha256, startEchoServer } from '../helpers/net';

/** An open client connection that has sent `payload` and read back exactly as many bytes. */
export interface Exchange {
  socket: net.Socket;
  received: Buffer;
}

/** Connects, writes `payload` in `chunk`-sized writes and reads until as many bytes came back. */
export function echoExchange(port: number, payload: Buffer, host = '127.0.0.1', chunk = 16384): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host });
    const parts: Buffer[] = [];
    let got = 0;
    socket.on('error', reject);
    socket.on('connect', () => {
      for (let off = 0; off < payload.length; off += chunk) socket.write(payload.subarray(off, off + chunk));
    });
    socket.on('data', (d: Buffer) => {
      parts.push(d);
      got += d.length;
      if (got >= payload.length) resolve({ socket, received: Buffer.concat(parts) });
    });
    socket.on('end', () => reject(new Error(`connection ended after ${got} of ${payload.length} bytes`)));
  });
}

/** Sends `size` random bytes through an echo path, closes, and expects them back byte-exact. */
export async function expectEchoByteExact(port: number, size: number): Promise<void> {
  const payload = crypto.randomBytes(size);
  const { socket, received } = await echoExchange(port, payload);
  socket.destroy();
  expect(sha256(received)).toBe(sha256(payload));
}

/** Per-socket TCP counters from `ss -tin`: payload segments that really went over TCP/IP. */
export interface TcpSocketInfo {
  local: string;
  peer: string;
  dataSegsOut: number;
  dataSegsIn: number;
  bytesReceived: number;
  bytesAcked: number;
}

/** Established TCP sockets whose local or peer port is `port`, from the kernel (`ss -tin`). */
export function tcpSocketsOnPort(port: number): TcpSocketInfo[] {
  const out = execFileSync('ss', ['-tinH', 'state', 'established', `( sport = :${port} or dport = :${port} )`], { encoding: 'utf8' });
  const infos: TcpSocketInfo[] = [];
  const lines = out.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const head = lines[i].trim().split(/\s+/);
    if (head.length < 4 || !/:\d+$/.test(head[2] ?? '')) continue;
    const detail = lines[i + 1] ?? '';
    const num = (key: string) => Number(new RegExp(`\\b${key}:(\\d+)`).exec(detail)?.[1] ?? 0);
    infos.push({
      local: head[2],
      peer: head[3],
      dataSegsOut: num('data_segs_out'),
      dataSegsIn: num('data_segs_in'),
      bytesReceived: num('bytes_received'),
      bytesAcked: num('bytes_acked'),
    });
    i++;
  }
  return infos;
}
