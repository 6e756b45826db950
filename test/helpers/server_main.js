#!/usr/bin/env node
// Test-only entry point: `node test/helpers/server_main.js SPEC.json` starts a Server from a
// ProxySpec file (see bootstrap.ts) with the spec's concurrency. Tests point node:cluster workers at it
// (ServerOptions.workerExec) so that they run from the TypeScript sources, without a build.
'use strict';
require('./ts_register');
require('./server_main_impl.ts').main(process.argv[2]);
