/** One separation in its own process, so peak RSS is this run's alone. Prints one JSON line. */
import { parseQuality } from '../layers/engine/quality.js';
import { separateFile } from '../layers/engine/separate-file.js';
import type { FrameGrid } from '../layers/engine/separator.js';
import { enableSharedModels } from '../local/shared-models.js';

enableSharedModels();

const [input, out, model, grid, threads, quality] = process.argv.slice(2);
const t0 = performance.now();
const r = await separateFile(input, out, {
  model, format: 'wav32f', grid: grid as FrameGrid, threads: threads ? Number(threads) : undefined,
  // the reference grid is for comparisons with sherpa-onnx, which drops the high band
  highBand: grid === 'reference' ? 'zero' : undefined, quality: parseQuality(quality),
});
console.log(JSON.stringify({
  wallMs: performance.now() - t0,
  timings: r.timings,
  wienerIterations: r.wienerIterations,
  audioSeconds: r.stems[0].frames / r.outputSampleRate,
  maxRssMb: process.resourceUsage().maxRSS / 1024,
}));
