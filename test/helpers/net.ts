// Socket helpers for proxy tests: echo/sink upstreams, byte generators, sha256, free ports.
import { createHash, randomBytes } from 'node:crypto';
import * as net from 'node:net';

export const LOCALHOST = '127.0.0.1';

export interface TestServer {
  readonly port: number;
  readonly server: net.Server;
  /** Every connection accepted so far. */
  readonly sockets: net.Socket[];
  close(): Promise<void>;
}

/** A TCP server on host (127.0.0.1), port 0, running onConnection for each socket (allowHalfOpen). */
export async function startTcpServer(onConnection: (socket: net.Socket) => void, host = LOCALHOST): Promise<TestServer> {
  const sockets: net.Socket[] = [];
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    sockets.push(socket);
    socket.on('error', () => {});
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    server,
    sockets,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Echoes every byte back and ends its side when the peer ends. */
export function startEchoServer(host = LOCALHOST): Promise<TestServer> {
  return startTcpServer((socket) => socket.pipe(socket), host);
}

/** A free TCP port on 127.0.0.1 (closed again; nothing listens on it). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, LOCALHOST, resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A client connection; it ends its side when the peer ends unless allowHalfOpen. */
export function connect(port: number, host = LOCALHOST, allowHalfOpen = false): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host, allowHalfOpen });
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** Everything the socket sends until it ends. */
export function readAll(socket: net.Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('end', () => resolve(Buffer.concat(chunks)));
    socket.once('error', reject);
  });
}

/** Resolves when the socket has closed (ended, reset or destroyed). */
export function closed(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve())));
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Random bytes to push through the proxy. */
export function randomData(size: number): Buffer {
  return randomBytes(size);
}

/** Writes data in chunks honouring backpressure, then ends the socket. */
export async function writeAllAndEnd(socket: net.Socket, data: Buffer, chunkSize = 256 * 1024): Promise<void> {
  for (let offset = 0; offset < data.length; offset += chunkSize) {
    if (!socket.write(data.subarray(offset, offset + chunkSize))) {
      await new Promise<void>((resolve) => socket.once('drain', resolve));
    }
  }
  socket.end();
}

export function waitFor(predicate: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const poll = () => {
      if (predicate()) return resolve();
      if (Date.now() > deadline) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(poll, 10);
    };
    poll();
  });
}
