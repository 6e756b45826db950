#!/usr/bin/env node
// Datapath benchmark: tcp vs sockmap through client -> proxy A -> proxy B -> upstream, one run,
// ratios sockmap/tcp. `npm run bench` (full, a few minutes) or `npm run bench -- --quick` (< 60 s).
// Options: --out FILE (default bench/results/latest.json), --reps N. Needs root; see docs/benchmarks.md.
'use strict';
require('../bench/run.js')
  .main()
  .catch((err) => {
    console.error(`bench failed: ${err && err.stack ? err.stack : err}`);
    process.exitCode = 1;
  });
