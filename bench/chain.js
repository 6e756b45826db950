// The benchmark chain: client -> proxy A -> proxy B -> upstream, every hop on 127.0.0.1.
// Each proxy has two tcp_proxy listeners (echo, sink) in front of two clusters, so one chain serves
// every workload. A sockmap chain selects the sockmap socket interface in both proxies, which share
// one sockhash through a pin dir of their own under the bpffs mount (removed by stop()).
'use strict';
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { HOST, bpffsMount, freePort, sleep } = require('./lib');

const ROOT = path.resolve(__dirname, '..');
const SOCKMAP = 'envoy.extensions.network.socket_interface.sockmap';

/** Every child process and pin dir the bench created, for cleanup even on failure. */
const live = { children: new Set(), pinDirs: new Set(), tmpDirs: new Set() };

function address(port) {
  return { socket_address: { address: HOST, port_value: port } };
}

function listener(name, port, cluster) {
  return {
    name,
    address: address(port),
    filter_chains: [
      {
        filters: [
          {
            name: 'envoy.filters.network.tcp_proxy',
            typed_config: {
              '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
              stat_prefix: name,
              cluster,
            },
          },
        ],
      },
    ],
  };
}

function cluster(name, port) {
  return {
    name,
    connect_timeout: '2s',
    type: 'STATIC',
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: address(port) } }] }] },
  };
}

/** A proxy: listeners echo/sink on `listen`, forwarding to `upstream` echo/sink. */
function proxyBootstrap({ adminPort, listen, upstream, sockmap }) {
  const bootstrap = {
    admin: { address: address(adminPort) },
    static_resources: {
      listeners: [listener('echo', listen.echo, 'echo'), listener('sink', listen.sink, 'sink')],
      clusters: [cluster('echo', upstream.echo), cluster('sink', upstream.sink)],
    },
  };
  if (sockmap) {
    bootstrap.bootstrap_extensions = [
      {
        name: SOCKMAP,
        typed_config: { '@type': 'type.googleapis.com/envoy.extensions.network.socket_interface.sockmap.v3.Sockmap', ...sockmap },
      },
    ];
    bootstrap.default_socket_interface = SOCKMAP;
  }
  return bootstrap;
}

/** One envoy-ts process from the built CLI. */
class Proxy {
  constructor(name, cli, bootstrap, env) {
    this.name = name;
    this.log = '';
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'envoy-ts-bench-'));
    live.tmpDirs.add(this.dir);
    const config = path.join(this.dir, 'envoy.json');
    fs.writeFileSync(config, JSON.stringify(bootstrap, null, 2));
    this.child = spawn(process.execPath, [cli, '-c', config], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    live.children.add(this.child);
    const collect = (d) => (this.log = (this.log + d.toString()).slice(-20000));
    this.child.stdout.on('data', collect);
    this.child.stderr.on('data', collect);
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve(code ?? signal)));
    this.exited.then(() => live.children.delete(this.child));
  }

  async waitReady(adminPort, timeoutMs = 20000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.child.exitCode !== null) throw new Error(`${this.name} exited (${this.child.exitCode}):\n${this.log}`);
      try {
        const res = await fetch(`http://${HOST}:${adminPort}/ready`);
        if (res.status === 200) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`${this.name} not ready after ${timeoutMs} ms:\n${this.log}`);
      await sleep(50);
    }
  }

  async stop() {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
    fs.rmSync(this.dir, { recursive: true, force: true });
    live.tmpDirs.delete(this.dir);
  }
}

class Chain {
  /**
   * @param name      label in reports
   * @param options   { cli, upstream: {echo, sink}, sockmap: boolean, bpfObject, env }
   */
  constructor(name, options) {
    this.name = name;
    this.options = options;
  }

  async start() {
    const o = this.options;
    const [aEcho, aSink, bEcho, bSink, adminA, adminB] = await Promise.all(Array.from({ length: 6 }, freePort));
    this.ports = { a: { echo: aEcho, sink: aSink }, b: { echo: bEcho, sink: bSink }, adminA, adminB };
    let sockmap;
    if (o.sockmap) {
      const mount = bpffsMount();
      if (!mount) throw new Error('bpffs is not mounted (bash scripts/setup.sh mounts it)');
      this.pinDir = path.join(mount, `envoy-ts-bench-${this.name}-${process.pid}-${crypto.randomBytes(3).toString('hex')}`);
      live.pinDirs.add(this.pinDir);
      sockmap = { bpf_program_path: o.bpfObject, pin_path: this.pinDir };
    }
    // B first, then A, as in test/kernel/proxy_chain.test.ts: B creates and pins the maps, A reuses them.
    this.b = new Proxy(`${this.name}/B`, o.cli, proxyBootstrap({ adminPort: adminB, listen: this.ports.b, upstream: o.upstream, sockmap }), o.env);
    await this.b.waitReady(adminB);
    this.a = new Proxy(`${this.name}/A`, o.cli, proxyBootstrap({ adminPort: adminA, listen: this.ports.a, upstream: this.ports.b, sockmap }), o.env);
    await this.a.waitReady(adminA);
    if (o.sockmap) {
      for (const p of [this.a, this.b]) {
        if (!p.log.includes('sockmap acceleration enabled')) throw new Error(`${p.name}: sockmap not enabled:\n${p.log}`);
      }
    }
    return this;
  }

  /** Proxy A's stats (`/stats?format=json`) as {name: value}; its sockmap.kernel.* are the shared maps'. */
  async statsA() {
    const res = await fetch(`http://${HOST}:${this.ports.adminA}/stats?format=json`);
    const body = await res.json();
    return Object.fromEntries(body.stats.map((s) => [s.name, s.value]));
  }

  async stop() {
    await Promise.all([this.a, this.b].filter(Boolean).map((p) => p.stop()));
    if (this.pinDir) {
      fs.rmSync(this.pinDir, { recursive: true, force: true });
      live.pinDirs.delete(this.pinDir);
    }
  }
}

/** Synchronous last-resort cleanup (process exit, signals): kill what is left, remove pins and temp dirs. */
function cleanupSync() {
  for (const child of live.children) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const dir of [...live.pinDirs, ...live.tmpDirs]) fs.rmSync(dir, { recursive: true, force: true });
  live.children.clear();
  live.pinDirs.clear();
  live.tmpDirs.clear();
}

module.exports = { Chain, live, cleanupSync };
