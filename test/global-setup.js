// Builds both variants once per test run: end-to-end tests spawn build/<variant>/cli.js.
// ENVOY_TS_SKIP_BUILD=1 reuses what is there (for quick local runs).
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

module.exports = async function globalSetup() {
  const root = path.resolve(__dirname, '..');
  for (const variant of ['stub', 'libbpf']) {
    const out = path.join(root, 'build', variant);
    if (process.env.ENVOY_TS_SKIP_BUILD === '1' && fs.existsSync(path.join(out, 'cli.js'))) continue;
    execFileSync(process.execPath, [path.join(root, 'scripts/build.js'), '--variant', variant, '--out', out], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }
};
