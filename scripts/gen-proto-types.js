#!/usr/bin/env node
// Generates TypeScript interfaces (ts-proto, types only) for the Envoy v3 messages envoy-ts uses.
// protoc comes from the `protoc` npm package, so nothing is downloaded.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { protoIncludeDirs, patchedValidateDir } = require('./proto-paths');

const root = path.resolve(__dirname, '..');
const out = path.join(root, 'src', 'generated');
const roots = [
  'envoy/config/bootstrap/v3/bootstrap.proto',
  'envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto',
  'envoy/extensions/network/socket_interface/v3/default_socket_interface.proto',
  'envoy/extensions/network/socket_interface/sockmap/v3/sockmap.proto',
];

// Generate beside the output and swap it in, so that a concurrent build never sees a half-written tree.
const staging = `${out}.tmp-${process.pid}`;
fs.rmSync(staging, { recursive: true, force: true });
fs.mkdirSync(staging, { recursive: true });
const includes = [patchedValidateDir(), ...protoIncludeDirs()];
const plugin = path.join(root, 'node_modules', '.bin', 'protoc-gen-ts_proto');
const protoc = require.resolve('protoc/protoc.cjs');
execFileSync(process.execPath, [
  protoc,
  `--plugin=protoc-gen-ts_proto=${plugin}`,
  `--ts_proto_out=${staging}`,
  '--ts_proto_opt=onlyTypes=true,snakeToCamel=false,useExactTypes=false,esModuleInterop=true,env=node,forceLong=number,useOptionals=none',
  ...includes.map((d) => `-I${d}`),
  ...roots,
], { stdio: 'inherit' });
fs.rmSync(out, { recursive: true, force: true });
fs.renameSync(staging, out);
console.log(`generated proto types in ${path.relative(root, out)}`);
