#!/usr/bin/env node
// Compiles bpf/sockmap_kern.c into build/bpf/sockmap_kern.o (the spec's sockmap_bpf rule).
// Needs clang and the libbpf development headers (apt-get install -y clang libbpf-dev).
'use strict';
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const src = path.join(root, 'bpf', 'sockmap_kern.c');
const outDir = path.join(root, 'build', 'bpf');
const out = path.join(outDir, 'sockmap_kern.o');

function fail(message) {
  process.stderr.write(`build-bpf: ${message}\n`);
  process.exit(1);
}

function tryRun(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : '';
}

function multiarch() {
  return tryRun('gcc', ['-print-multiarch']) || tryRun('dpkg-architecture', ['-qDEB_HOST_MULTIARCH']) || 'x86_64-linux-gnu';
}

const clang = process.env.CLANG || 'clang';
if (spawnSync(clang, ['--version'], { encoding: 'utf8' }).status !== 0) {
  fail(`'${clang}' not found: install clang (apt-get install -y clang) or set CLANG`);
}
if (!fs.existsSync('/usr/include/bpf/bpf_helpers.h')) {
  fail('libbpf headers not found (/usr/include/bpf/bpf_helpers.h): apt-get install -y libbpf-dev');
}
const archInc = `/usr/include/${multiarch()}`;
if (!fs.existsSync(path.join(archInc, 'asm', 'types.h'))) {
  fail(`<asm/types.h> not found under ${archInc}: install the kernel/libc headers (linux-libc-dev)`);
}

fs.mkdirSync(outDir, { recursive: true });
const args = ['-O2', '-g', '-target', 'bpf', '-Wall', '-Werror', `-I${archInc}`, `-I${path.join(root, 'bpf')}`, '-c', src, '-o', out];
try {
  execFileSync(clang, args, { stdio: 'inherit' });
} catch {
  fail(`compilation failed: ${clang} ${args.join(' ')}`);
}
process.stdout.write(`build-bpf: wrote ${path.relative(root, out)}\n`);
