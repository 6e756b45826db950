#!/usr/bin/env node
// Builds envoy-ts. SOCKMAP=enabled selects the libbpf datapath (and compiles the eBPF object),
// as Envoy's --define=sockmap=enabled does; otherwise the no-op stub is compiled and ffi-napi and
// libbpf are never loaded.
//   node scripts/build.js [--out DIR] [--variant stub|libbpf]
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const root = path.resolve(__dirname, '..');
const args = process.argv.slice(2);
const flag = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const variant = flag('--variant') ?? (process.env.SOCKMAP === 'enabled' ? 'libbpf' : 'stub');
if (!['stub', 'libbpf'].includes(variant)) throw new Error(`unknown variant '${variant}' (stub or libbpf)`);
const outDir = path.resolve(root, flag('--out') ?? 'dist');

const step = (script, ...rest) => {
  try {
    execFileSync(process.execPath, [script, ...rest], { stdio: 'inherit' });
  } catch {
    console.error(`build: ${path.basename(script)} failed (see above)`);
    process.exit(1);
  }
};

step(path.join(__dirname, 'gen-proto-types.js'));
if (variant === 'libbpf') step(path.join(__dirname, 'build-bpf.js'));
// Compile beside the output and swap it in, so that running processes and concurrent builds never
// see a half-written tree.
const staging = `${outDir}.tmp-${process.pid}`;
fs.rmSync(staging, { recursive: true, force: true });
const tsconfig = variant === 'libbpf' ? 'tsconfig.build-libbpf.json' : 'tsconfig.build.json';
step(require.resolve('typescript/bin/tsc'), '-p', path.join(root, tsconfig), '--outDir', staging);
if (variant === 'libbpf') selectLibbpf(staging);
fs.chmodSync(path.join(staging, 'cli.js'), 0o755);
fs.rmSync(outDir, { recursive: true, force: true });
fs.renameSync(staging, outDir);
console.log(`built envoy-ts (${variant} datapath) into ${path.relative(root, outDir) || '.'}`);

/**
 * Points the compiled build_variant.js at the libbpf loader. The source tree is never modified,
 * so builds of both variants can run at the same time.
 */
function selectLibbpf(dir) {
  const file = path.join(dir, 'extensions/network/socket_interface/sockmap/build_variant.js');
  fs.writeFileSync(
    file,
    `"use strict";\n// Written by scripts/build.js: the libbpf datapath was selected at build time.\n` +
      `Object.defineProperty(exports, "__esModule", { value: true });\n` +
      `const loader = require("./datapath_loader");\n` +
      `exports.loadDatapath = loader.loadDatapath;\nexports.DATAPATH_VARIANT = loader.DATAPATH_VARIANT;\n`,
  );
}
