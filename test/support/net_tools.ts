import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as net from 'node:net';

/** A port that was free a moment ago on 127.0.0.1. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** An echo server: every byte it reads goes back; half-close is echoed too. */
export async function startEchoServer(host = '127.0.0.1'): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
    s.pipe(s);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

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

export function sha256(b: Buffer): string {
  return crypto.createHash('sha256').update(b).digest('hex');
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
