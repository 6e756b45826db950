// Benchmark of the two datapaths of the chain client -> A -> B -> upstream, in one run:
//   tcp:     the default socket interface (no bootstrap_extensions);
//   sockmap: the sockmap socket interface in A and B, sharing a pinned sockhash.
// Both chains run side by side (same processes, same port shape) and every workload alternates
// between them (ABBA...) so that drift on a noisy machine hits both; each value is the median of
// the repetitions, and the report is the ratio sockmap/tcp. See docs/benchmarks.md.
'use strict';
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Chain, cleanupSync } = require('./chain');
const { median } = require('./lib');
const w = require('./workloads');

const ROOT = path.resolve(__dirname, '..');
const CLI = path.join(ROOT, 'build', 'libbpf', 'cli.js');
const BPF_OBJECT = path.join(ROOT, 'build', 'bpf', 'sockmap_kern.o');
const MIB = w.MIB;

const PROFILES = {
  full: {
    reps: 7,
    pingPong: { warmupMs: 500, durationMs: 2000 },
    bulk: { totalBytes: 64 * MIB, writeSize: 64 * 1024 },
    connRate: { size: 1024, concurrency: 4, durationMs: 3000 },
    held: { count: 300, size: 1024, reps: 3 },
    watchdogMs: 15 * 60 * 1000,
  },
  quick: {
    reps: 3,
    pingPong: { warmupMs: 200, durationMs: 400 },
    bulk: { totalBytes: 64 * MIB, writeSize: 64 * 1024 },
    connRate: { size: 1024, concurrency: 4, durationMs: 600 },
    held: { count: 300, size: 1024, reps: 1 },
    watchdogMs: 90 * 1000,
  },
};

function parseArgs(argv) {
  const args = { quick: argv.includes('--quick'), out: path.join(__dirname, 'results', 'latest.json') };
  const i = argv.indexOf('--out');
  if (i >= 0 && argv[i + 1]) args.out = path.resolve(argv[i + 1]);
  const r = argv.indexOf('--reps');
  if (r >= 0) args.reps = Number(argv[r + 1]);
  return args;
}

function ensureBuilt() {
  if (fs.existsSync(CLI) && fs.existsSync(BPF_OBJECT)) return;
  console.error('bench: building the libbpf variant (node scripts/build.js --variant libbpf --out build/libbpf)');
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build.js'), '--variant', 'libbpf', '--out', path.join(ROOT, 'build', 'libbpf')], { stdio: 'inherit' });
}

/** The peer-wait bound compiled into the build (DEFAULT_SETTINGS.peerWaitMs), for the report. */
function defaultPeerWaitMs() {
  const file = path.join(path.dirname(CLI), 'extensions/network/socket_interface/sockmap/socket_interface.js');
  const m = /peerWaitMs:\s*(\d+)/.exec(fs.readFileSync(file, 'utf8'));
  return m ? Number(m[1]) : undefined;
}

function startUpstream() {
  const child = spawn(process.execPath, [path.join(__dirname, 'upstream.js')], { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.on('exit', (code) => reject(new Error(`upstream exited (${code})`)));
    child.stdout.on('data', (d) => {
      out += d.toString();
      if (out.includes('\n')) resolve({ child, ports: JSON.parse(out) });
    });
  });
}

function counterDelta(before, after, prefix) {
  const delta = {};
  for (const [name, value] of Object.entries(after)) if (name.startsWith(prefix)) delta[name.slice(prefix.length)] = value - (before[name] || 0);
  return delta;
}

function addInto(total, delta) {
  for (const [k, v] of Object.entries(delta)) total[k] = (total[k] || 0) + v;
}

/**
 * Runs `fn(chain)` `reps` times on every chain, alternating the order each repetition, after one
 * unmeasured warm-up per chain. Kernel and user-space sockmap counters of proxy A are summed over
 * the measured runs of each sockmap chain, with the payload the runs moved over the A<->B hop.
 */
async function measure(label, chains, reps, fn) {
  process.stderr.write(`bench: ${label} `);
  for (const chain of chains) await fn(chain);
  const samples = Object.fromEntries(chains.map((c) => [c.name, []]));
  const evidence = {};
  for (let rep = 0; rep < reps; rep++) {
    const order = rep % 2 === 0 ? chains : [...chains].reverse();
    for (const chain of order) {
      const before = chain.options.sockmap ? await chain.statsA() : undefined;
      const result = await fn(chain);
      samples[chain.name].push(result);
      if (before) {
        const after = await chain.statsA();
        const e = (evidence[chain.name] ??= { hop_payload_bytes: 0, kernel: {}, user: {} });
        e.hop_payload_bytes += result.hopBytes;
        addInto(e.kernel, counterDelta(before, after, 'sockmap.kernel.'));
        addInto(e.user, counterDelta(before, after, 'sockmap.'));
      }
      process.stderr.write('.');
    }
  }
  process.stderr.write('\n');
  for (const e of Object.values(evidence)) {
    for (const k of Object.keys(e.user)) if (k.startsWith('kernel.')) delete e.user[k];
    e.redirected_share_of_hop_bytes = e.kernel.bytes_redirected / e.hop_payload_bytes;
  }
  return { samples, evidence };
}

/** Medians per metric and chain, and the ratio of `chain` to `base` for each metric. */
function summarize(samples, metrics, base, others) {
  const out = {};
  for (const metric of metrics) {
    const row = {};
    for (const [name, runs] of Object.entries(samples)) row[name] = median(runs.map((r) => r[metric]));
    for (const other of others) row[`ratio_${other}_to_${base}`] = row[other] / row[base];
    row.samples = Object.fromEntries(Object.entries(samples).map(([name, runs]) => [name, runs.map((r) => r[metric])]));
    out[metric] = row;
  }
  return out;
}

function fmt(v) {
  if (v === undefined || Number.isNaN(v)) return '-';
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

function printTable(rows, headers) {
  const cells = [headers, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : String(c))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  // Text columns left, numbers right (judged by the first data row).
  const left = headers.map((_, i) => cells.length < 2 || !/^[-\d.]+[x%]?$/.test(cells[1][i]));
  const line = (r) => `| ${r.map((c, i) => (left[i] ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  console.log(line(headers));
  console.log(`|${widths.map((wd, i) => (left[i] ? `-${'-'.repeat(wd)}-` : `${'-'.repeat(wd + 1)}:`)).join('|')}|`);
  for (const r of cells.slice(1)) console.log(line(r));
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const profile = { ...PROFILES[args.quick ? 'quick' : 'full'] };
  if (args.reps > 0) profile.reps = args.reps;
  if (process.getuid && process.getuid() !== 0) throw new Error('the sockmap datapath needs root (CAP_BPF, CAP_NET_ADMIN)');
  ensureBuilt();

  const watchdog = setTimeout(() => {
    console.error(`bench: watchdog: still running after ${profile.watchdogMs / 1000} s, giving up`);
    cleanupSync();
    process.exit(2);
  }, profile.watchdogMs);
  watchdog.unref();

  const started = Date.now();
  const upstream = await startUpstream();
  const common = { cli: CLI, bpfObject: BPF_OBJECT, upstream: upstream.ports };
  const tcp = new Chain('tcp', { ...common, sockmap: false });
  const sockmap = new Chain('sockmap', { ...common, sockmap: true });
  const noWait = new Chain('sockmap_no_peer_wait', { ...common, sockmap: true, env: { ENVOY_TS_SOCKMAP_PEER_WAIT_MS: '0' } });
  const chains = [tcp, sockmap, noWait];
  try {
    for (const chain of chains) await chain.start();
    const pair = [tcp, sockmap];
    const results = {};

    for (const size of [64, 4096]) {
      const m = await measure(`ping-pong ${size} B`, pair, profile.reps, (c) => w.pingPong(c.ports.a.echo, { size, ...profile.pingPong }));
      results[`ping_pong_${size}B`] = {
        description: `one connection, one ${size}-byte message in flight, echoed by the upstream`,
        metrics: summarize(m.samples, ['round_trips_per_s', 'rtt_p50_us', 'rtt_p99_us'], 'tcp', ['sockmap']),
        sockmap_evidence: m.evidence.sockmap,
      };
    }
    {
      const m = await measure('bulk', pair, profile.reps, (c) => w.bulk(c.ports.a.sink, profile.bulk));
      results.bulk = {
        description: `${profile.bulk.totalBytes / MIB} MiB one direction in ${profile.bulk.writeSize / 1024} KiB writes to a sink`,
        metrics: summarize(m.samples, ['mb_per_s'], 'tcp', ['sockmap']),
        sockmap_evidence: m.evidence.sockmap,
      };
    }
    {
      const m = await measure('connection rate', pair, profile.reps, (c) => w.connectionRate(c.ports.a.echo, profile.connRate));
      results.connection_rate = {
        description: `${profile.connRate.concurrency} loops of: connect, ${profile.connRate.size} B echo, graceful close`,
        metrics: summarize(m.samples, ['connections_per_s', 'conn_p50_us', 'conn_p99_us'], 'tcp', ['sockmap']),
        sockmap_evidence: m.evidence.sockmap,
      };
    }
    {
      const trio = [noWait, sockmap, tcp];
      const m = await measure(`peer wait (${profile.held.count} held connections)`, trio, profile.held.reps, (c) =>
        w.heldConnections(c.ports.a.echo, c.ports.b.echo, profile.held),
      );
      results.peer_wait = {
        description: `${profile.held.count} connections opened one by one (${profile.held.size} B echo each) and held; A->B sockets checked with ss`,
        peer_wait_bound_ms: { sockmap: defaultPeerWaitMs(), sockmap_no_peer_wait: 0 },
        metrics: summarize(
          m.samples,
          ['accelerated_share', 'one_direction_only', 'first_echo_p50_us', 'first_echo_p99_us', 'first_echo_mean_us'],
          'sockmap_no_peer_wait',
          ['sockmap', 'tcp'],
        ),
        sockmap_evidence: m.evidence.sockmap,
        sockmap_no_peer_wait_evidence: m.evidence.sockmap_no_peer_wait,
      };
    }

    const finalStatsA = await sockmap.statsA();
    const report = {
      date: new Date().toISOString(),
      profile: args.quick ? 'quick' : 'full',
      duration_s: (Date.now() - started) / 1000,
      machine: {
        cpus: os.cpus().length,
        cpu_model: os.cpus()[0]?.model,
        kernel: os.release(),
        node: process.version,
        commit: gitCommit(),
      },
      settings: profile,
      results,
      sockmap_chain_proxy_a_stats: Object.fromEntries(Object.entries(finalStatsA).filter(([k]) => k.startsWith('sockmap.'))),
    };
    fs.mkdirSync(path.dirname(args.out), { recursive: true });
    fs.writeFileSync(args.out, `${JSON.stringify(report, null, 2)}\n`);
    printReport(report);
    console.log(`\nJSON: ${path.relative(process.cwd(), args.out)}`);
  } finally {
    for (const chain of chains) await chain.stop().catch(() => {});
    upstream.child.kill('SIGTERM');
    clearTimeout(watchdog);
  }
}

function gitCommit() {
  try {
    return execFileSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

function peerWaitCells(row) {
  const ratio = (a, b) => (b ? `${(a / b).toFixed(2)}x` : '-');
  return [row.tcp, row.sockmap_no_peer_wait, row.sockmap, ratio(row.sockmap, row.sockmap_no_peer_wait), ratio(row.sockmap, row.tcp)];
}

function printReport(report) {
  const m = report.machine;
  console.log(`\nenvoy-ts datapath benchmark (${report.profile}, ${report.settings.reps} reps, medians) - ${m.cpus} CPUs, kernel ${m.kernel}, node ${m.node}, ${m.commit}\n`);
  const r = report.results;
  const rows = [];
  const add = (workload, key, metric, label, better) => {
    const row = r[key].metrics[metric];
    rows.push([workload, label, row.tcp, row.sockmap, `${row.ratio_sockmap_to_tcp.toFixed(2)}x`, better]);
  };
  add('ping-pong 64 B', 'ping_pong_64B', 'round_trips_per_s', 'round trips/s', 'higher');
  add('ping-pong 64 B', 'ping_pong_64B', 'rtt_p50_us', 'RTT p50 (us)', 'lower');
  add('ping-pong 64 B', 'ping_pong_64B', 'rtt_p99_us', 'RTT p99 (us)', 'lower');
  add('ping-pong 4 KiB', 'ping_pong_4096B', 'round_trips_per_s', 'round trips/s', 'higher');
  add('ping-pong 4 KiB', 'ping_pong_4096B', 'rtt_p50_us', 'RTT p50 (us)', 'lower');
  add('ping-pong 4 KiB', 'ping_pong_4096B', 'rtt_p99_us', 'RTT p99 (us)', 'lower');
  add(`bulk ${report.settings.bulk.totalBytes / MIB} MiB`, 'bulk', 'mb_per_s', 'MB/s', 'higher');
  add('short connections', 'connection_rate', 'connections_per_s', 'connections/s', 'higher');
  add('short connections', 'connection_rate', 'conn_p50_us', 'conn p50 (us)', 'lower');
  add('short connections', 'connection_rate', 'conn_p99_us', 'conn p99 (us)', 'lower');
  printTable(rows, ['workload', 'metric', 'tcp', 'sockmap', 'sockmap/tcp', 'better']);

  const pw = r.peer_wait.metrics;
  console.log(`\npeer wait: ${report.settings.held.count} held connections, A->B hop per ss (medians of ${report.settings.held.reps})\n`);
  printTable(
    [
      ['accelerated both ways', 'share', ...peerWaitCells(pw.accelerated_share)],
      ['one direction only', 'connections', ...peerWaitCells(pw.one_direction_only)],
      ['time to first echo', 'p50 (us)', ...peerWaitCells(pw.first_echo_p50_us)],
      ['time to first echo', 'p99 (us)', ...peerWaitCells(pw.first_echo_p99_us)],
      ['time to first echo', 'mean (us)', ...peerWaitCells(pw.first_echo_mean_us)],
    ],
    ['held connections', 'metric', 'tcp', 'sockmap wait=0', `sockmap wait<=${r.peer_wait.peer_wait_bound_ms.sockmap}ms`, 'wait / wait=0', 'wait / tcp'],
  );

  console.log('\nkernel evidence (proxy A admin /stats, sockmap.kernel.* deltas over the measured sockmap runs)\n');
  const ev = [];
  for (const [key, label] of [
    ['ping_pong_64B', 'ping-pong 64 B'],
    ['ping_pong_4096B', 'ping-pong 4 KiB'],
    ['bulk', 'bulk'],
    ['connection_rate', 'short connections'],
    ['peer_wait', 'held, wait'],
  ]) {
    const e = r[key].sockmap_evidence;
    ev.push(evidenceRow(label, e));
  }
  const nw = r.peer_wait.sockmap_no_peer_wait_evidence;
  ev.push(evidenceRow('held, wait=0', nw));
  printTable(ev, ['workload', 'A<->B payload (B)', 'bytes_redirected', 'share', 'msgs_redirected', 'passed_peer_absent', 'passed_unsafe', 'passed_pressure', 'peer_wait_timeout']);
}

function evidenceRow(label, e) {
  const k = e.kernel;
  const share = `${(100 * e.redirected_share_of_hop_bytes).toFixed(1)}%`;
  return [label, e.hop_payload_bytes, k.bytes_redirected, share, k.msgs_redirected, k.msgs_passed_peer_absent, k.msgs_passed_unsafe, k.msgs_passed_pressure, e.user.peer_wait_timeout ?? 0].map(String);
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    console.error(`bench: ${signal}, cleaning up`);
    cleanupSync();
    process.exit(130);
  });
}
process.on('exit', cleanupSync);

module.exports = { main };
