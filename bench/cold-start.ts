/**
 * Cold-start cost of each Lambda bundle: its size and the time a fresh Node process takes to
 * import it (module scope included: config, clients, metrics), median of several runs.
 *
 *   npm run bench:cold-start [-- --runs 7]
 */
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { bundleFunctions, FUNCTIONS } from '../infra/image/bundle.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '7' } } });
const runs = Number(values.runs);
// inside the repo, so the bundles' external onnxruntime-node resolves from node_modules as in the image
const outdir = path.resolve(import.meta.dirname, '..', 'dist', 'cold-start');
const files = await bundleFunctions(outdir);
const env = { ...process.env, STEMS_BUCKET: 'cold-start', AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'x' };
const probe = 'const t = performance.now(); await import(process.argv[1]); console.log(performance.now() - t);';

console.log(`machine: ${os.cpus()[0].model}, node ${process.version}; ${runs} runs per bundle`);
const medians: Record<string, number> = {};
for (const [i, fn] of FUNCTIONS.entries()) {
  const times = Array.from({ length: runs }, () =>
    Number(execFileSync(process.execPath, ['--input-type=module', '-e', probe, files[i]], { env, stdio: ['ignore', 'pipe', 'ignore'] }).toString()));
  times.sort((a, b) => a - b);
  medians[fn] = times[Math.floor(runs / 2)];
  console.log(`${fn.padEnd(10)} ${(statSync(files[i]).size / 1024).toFixed(0).padStart(6)} KiB  import ${medians[fn].toFixed(1)} ms (min ${times[0].toFixed(1)}, max ${times[runs - 1].toFixed(1)})`);
}
console.log(`bench:cold-start ${FUNCTIONS.map((f) => `${f}_ms=${medians[f].toFixed(1)}`).join(' ')}`);
