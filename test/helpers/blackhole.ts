// A TCP port whose connects neither complete nor fail: a listener in a stopped child process whose
// accept queue is full, so the kernel drops further SYNs (used to provoke connect timeouts).
import { spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import { LOCALHOST } from './net';

export interface Blackhole {
  readonly port: number;
  close(): Promise<void>;
}

const LISTENER = `
const server = require('node:net').createServer();
server.listen({ host: '${LOCALHOST}', port: 0, backlog: 1 }, () => process.stdout.write(server.address().port + '\\n'));
`;

function connectsWithin(port: number, ms: number, opened: net.Socket[]): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: LOCALHOST, port });
    opened.push(socket);
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(false);
    }, ms);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(true);
    });
    socket.once('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

export async function startBlackhole(): Promise<Blackhole> {
  const child: ChildProcess = spawn(process.execPath, ['-e', LISTENER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout?.once('data', (data: Buffer) => resolve(Number(data.toString().trim())));
    child.once('error', reject);
  });
  child.kill('SIGSTOP');
  const opened: net.Socket[] = [];
  // Fill the accept queue until a connect hangs.
  for (let i = 0; i < 16; i++) {
    if (!(await connectsWithin(port, 300, opened))) break;
  }
  return {
    port,
    close: async () => {
      for (const socket of opened) socket.destroy();
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}
