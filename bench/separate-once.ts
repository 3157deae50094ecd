/** One separation in its own process, so peak RSS is this run's alone. Prints one JSON line. */
import { separateFile } from '../layers/engine/separate-file.js';
import type { FrameGrid } from '../layers/engine/separator.js';
import { enableSharedModels } from '../local/shared-models.js';

enableSharedModels();

const [input, out, model, grid, threads] = process.argv.slice(2);
const t0 = performance.now();
const r = await separateFile(input, out, {
  model, format: 'wav32f', grid: grid as FrameGrid, highBand: 'zero', threads: threads ? Number(threads) : undefined,
});
console.log(JSON.stringify({
  wallMs: performance.now() - t0,
  timings: r.timings,
  audioSeconds: r.stems[0].frames / r.outputSampleRate,
  maxRssMb: process.resourceUsage().maxRSS / 1024,
}));
