// The workloads. Each takes the port of proxy A's listener (echo or sink) and returns plain numbers,
// plus `hopBytes`: the payload bytes it moved over the A<->B hop (both directions, warm-up included),
// to compare with the kernel's bytes_redirected.
'use strict';
const { connect, nowUs, percentile, readExactly, tcpSocketsOnLocalPort, sleep } = require('./lib');

const MIB = 1024 * 1024;

/**
 * Ping-pong over one long-lived connection: write `size` bytes, wait until the echo of all of them
 * is back, repeat. One message in flight, so each round trip crosses both proxies twice.
 */
async function pingPong(port, { size, warmupMs, durationMs }) {
  const socket = await connect(port);
  const message = Buffer.alloc(size, 0x70);
  try {
    return await new Promise((resolve, reject) => {
      const rtts = [];
      let roundTrips = 0;
      let got = 0;
      let sentAt = 0;
      let measuringSince = 0;
      const startedAt = nowUs();
      let stall = setTimeout(() => reject(new Error('ping-pong stalled')), 5000);
      const send = () => {
        sentAt = nowUs();
        socket.write(message);
      };
      socket.on('error', reject);
      socket.on('close', () => reject(new Error('connection closed during ping-pong')));
      socket.on('data', (chunk) => {
        got += chunk.length;
        if (got < size) return;
        if (got > size) return reject(new Error(`echo returned ${got} bytes for a ${size}-byte message`));
        got = 0;
        roundTrips++;
        const t = nowUs();
        if (measuringSince) rtts.push(t - sentAt);
        else if (t - startedAt >= warmupMs * 1000) measuringSince = t;
        if (measuringSince && t - measuringSince >= durationMs * 1000) {
          clearTimeout(stall);
          const elapsedS = (t - measuringSince) / 1e6;
          rtts.sort((a, b) => a - b);
          return resolve({
            round_trips_per_s: rtts.length / elapsedS,
            rtt_p50_us: percentile(rtts, 50),
            rtt_p99_us: percentile(rtts, 99),
            samples: rtts.length,
            hopBytes: 2 * size * roundTrips,
          });
        }
        if (roundTrips % 1000 === 0) {
          clearTimeout(stall);
          stall = setTimeout(() => reject(new Error('ping-pong stalled')), 5000);
        }
        send();
      });
      send();
    });
  } finally {
    socket.destroy();
  }
}

/**
 * Bulk, one direction: `totalBytes` in `writeSize` writes honouring backpressure to the sink, which
 * answers one byte per MiB; the clock stops when the last of those bytes is back.
 */
async function bulk(port, { totalBytes, writeSize }) {
  const socket = await connect(port);
  const chunk = Buffer.alloc(writeSize, 0x62);
  try {
    const t0 = nowUs();
    const acked = readExactly(socket, Math.floor(totalBytes / MIB), 120000);
    for (let sent = 0; sent < totalBytes; sent += writeSize) {
      if (!socket.write(chunk)) await new Promise((resolve) => socket.once('drain', resolve));
    }
    await acked;
    const elapsedS = (nowUs() - t0) / 1e6;
    return { mb_per_s: totalBytes / 1e6 / elapsedS, seconds: elapsedS, hopBytes: totalBytes + Math.floor(totalBytes / MIB) };
  } finally {
    socket.destroy();
  }
}

/** One short connection: connect, `size` bytes echoed, graceful close; resolves when fully closed. */
async function shortConnection(port, message) {
  const socket = await connect(port);
  try {
    const echoed = readExactly(socket, message.length);
    socket.write(message);
    await echoed;
    const closed = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('close timed out')), 10000);
      socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    socket.end(); // half-close travels client -> A -> B -> echo and back
    await closed;
  } finally {
    socket.destroy();
  }
}

/**
 * Connection setup rate: `concurrency` loops of short connections for `durationMs`. Each one costs
 * the proxies two accepts, two connects and (sockmap) four registrations, A's wait for B's
 * registration, and four unregistrations.
 */
async function connectionRate(port, { size, concurrency, durationMs }) {
  const message = Buffer.alloc(size, 0x63);
  const latencies = [];
  const t0 = nowUs();
  const deadline = t0 + durationMs * 1000;
  const loop = async () => {
    while (nowUs() < deadline) {
      const start = nowUs();
      await shortConnection(port, message);
      latencies.push(nowUs() - start);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  const elapsedS = (nowUs() - t0) / 1e6;
  latencies.sort((a, b) => a - b);
  return {
    connections_per_s: latencies.length / elapsedS,
    conn_p50_us: percentile(latencies, 50),
    conn_p99_us: percentile(latencies, 99),
    connections: latencies.length,
    hopBytes: 2 * size * latencies.length,
  };
}

/**
 * Held connections: `count` connections opened one after the other, each echoing `size` bytes
 * (time to first echo = connect + A's connect to B + peer wait + one round trip), all kept open.
 * Then the kernel says, per A->B connection (B's accepted socket on `hopPort`), whether any payload
 * went over TCP/IP in either direction. Then all are closed.
 */
async function heldConnections(port, hopPort, { count, size }) {
  const message = Buffer.alloc(size, 0x68);
  const open = [];
  const latencies = [];
  try {
    for (let i = 0; i < count; i++) {
      const start = nowUs();
      const socket = await connect(port);
      open.push(socket);
      socket.on('error', () => {});
      const echoed = readExactly(socket, size);
      socket.write(message);
      await echoed;
      latencies.push(nowUs() - start);
    }
    const hop = tcpSocketsOnLocalPort(hopPort);
    if (hop.length !== count) throw new Error(`expected ${count} A->B connections on port ${hopPort}, ss shows ${hop.length}`);
    const accelerated = hop.filter((s) => s.dataSegsIn === 0 && s.dataSegsOut === 0).length;
    const oneWay = hop.filter((s) => (s.dataSegsIn === 0) !== (s.dataSegsOut === 0)).length;
    latencies.sort((a, b) => a - b);
    return {
      accelerated_share: accelerated / count,
      accelerated,
      one_direction_only: oneWay,
      first_echo_p50_us: percentile(latencies, 50),
      first_echo_p99_us: percentile(latencies, 99),
      first_echo_mean_us: latencies.reduce((a, b) => a + b, 0) / latencies.length,
      hopBytes: 2 * size * count,
    };
  } finally {
    for (const socket of open) socket.destroy();
    // Let the proxies tear the chain down before the next run counts sockets on its own port.
    for (let i = 0; i < 100 && tcpSocketsOnLocalPort(hopPort).length > 0; i++) await sleep(20);
  }
}

module.exports = { pingPong, bulk, connectionRate, heldConnections, MIB };
