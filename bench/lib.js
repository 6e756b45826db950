// Small helpers shared by the benchmark: statistics, sockets, ports, the kernel's view of sockets.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');

const HOST = '127.0.0.1';

/** The p-th percentile (0..100) of an ascending array, nearest-rank. */
function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Microseconds since an arbitrary origin, monotonic. */
function nowUs() {
  return Number(process.hrtime.bigint()) / 1000;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A free TCP port on 127.0.0.1 (closed again). */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, HOST, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** A connected client socket with Nagle off. */
function connect(port, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: HOST });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`connect to ${HOST}:${port} timed out`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', reject);
      socket.setNoDelay(true);
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Resolves once `socket` has received `bytes` more bytes (rejects on close, error or timeout). */
function readExactly(socket, bytes, timeoutMs = 10000) {
  return new Promise((resolve, reject) => {
    let got = 0;
    const done = (err) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('error', done);
      if (err) reject(err);
      else resolve();
    };
    const onData = (chunk) => {
      got += chunk.length;
      if (got > bytes) done(new Error(`received ${got} bytes, expected ${bytes}`));
      else if (got === bytes) done();
    };
    const onClose = () => done(new Error(`closed after ${got} of ${bytes} bytes`));
    const timer = setTimeout(() => done(new Error(`timed out after ${got} of ${bytes} bytes`)), timeoutMs);
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.once('error', done);
  });
}

/** The bpffs mount point, from /proc/self/mountinfo. */
function bpffsMount() {
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [pre, post] = line.split(' - ');
    if (post && post.split(' ')[0] === 'bpf') return pre.split(' ')[4];
  }
  return undefined;
}

/**
 * Established TCP sockets whose local port is `port`, with the kernel's per-socket payload segment
 * counters (`ss -tinH`). A socket whose data_segs_in and data_segs_out are both 0 carried no payload
 * over TCP/IP in either direction: everything it moved was redirected by sk_msg.
 */
function tcpSocketsOnLocalPort(port) {
  const out = execFileSync('ss', ['-tinH', 'state', 'established', `( sport = :${port} )`], { encoding: 'utf8' });
  const sockets = [];
  const lines = out.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const head = lines[i].trim().split(/\s+/);
    if (head.length < 4 || !/:\d+$/.test(head[2] || '')) continue;
    const detail = lines[i + 1] || '';
    const num = (key) => Number((new RegExp(`\\b${key}:(\\d+)`).exec(detail) || [])[1] || 0);
    if (head[2].endsWith(`:${port}`)) sockets.push({ local: head[2], peer: head[3], dataSegsIn: num('data_segs_in'), dataSegsOut: num('data_segs_out') });
    i++;
  }
  return sockets;
}

module.exports = { HOST, percentile, median, nowUs, sleep, freePort, connect, readExactly, bpffsMount, tcpSocketsOnLocalPort };
