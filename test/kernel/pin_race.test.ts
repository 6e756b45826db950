// Several envoy-ts processes starting at the same moment on a fresh pin_path must all end up on
// the same pinned sockhash (the pin dir is locked while one of them loads and pins).
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { uniquePinDir } from '../support/bpffs';
import { bpfObjectPath } from '../support/envoy_process';
import { describeKernel } from '../support/privileges';

const DATAPATH = path.resolve(__dirname, '../../build/libbpf/extensions/network/socket_interface/sockmap/datapath.js');
const PROCESSES = 4;
const SOCKHASH_TYPE = 18; // BPF_MAP_TYPE_SOCKHASH

/** A child that opens the datapath at `startAt` and prints the id of the sockhash it got. */
function childScript(pinDir: string, startAt: number): string {
  return `
    const fs = require('fs');
    const { BpfDatapath } = require(${JSON.stringify(DATAPATH)});
    const quiet = { info() {}, warn() {}, error() {}, debug() {}, trace() {}, critical() {} };
    while (Date.now() < ${startAt}) {}
    const dp = BpfDatapath.open({ bpfProgramPath: ${JSON.stringify(bpfObjectPath())}, cgroupPath: '', sockhashMaxEntries: 65536,
      acceleratedPorts: [], pinPath: ${JSON.stringify(pinDir)}, attachCgroup: false }, quiet);
    for (const fd of fs.readdirSync('/proc/self/fdinfo')) {
      let info = '';
      try { info = fs.readFileSync('/proc/self/fdinfo/' + fd, 'utf8'); } catch { continue; }
      if (new RegExp('map_type:\\\\s+${SOCKHASH_TYPE}\\\\b').test(info)) console.log(/map_id:\\s+(\\d+)/.exec(info)[1]);
    }
    dp.close();
  `;
}

function run(script: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`child exited ${code}: ${err}`))));
  });
}

describeKernel('processes starting together on one pin_path', () => {
  let pinDir = '';
  afterEach(() => {
    if (pinDir) fs.rmSync(pinDir, { recursive: true, force: true });
  });

  test.each([1, 2, 3])('all share one sockhash (round %i)', async () => {
    pinDir = uniquePinDir('race');
    const startAt = Date.now() + 1500; // every child is loaded and spinning by then
    const ids = await Promise.all(Array.from({ length: PROCESSES }, () => run(childScript(pinDir, startAt))));
    expect(ids.every((id) => /^\d+$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(1);
  });
});
