/**
 * One separation in its own process, so peak RSS is this run's alone. Prints one JSON line. With a
 * 7th argument `warm`, it separates once more in the same process and adds that run's timings as
 * `warm` (sessions already loaded, as in a warm Lambda container).
 */
import { parseQuality } from '../layers/engine/quality.js';
import { separateFile } from '../layers/engine/separate-file.js';
import type { FrameGrid } from '../layers/engine/separator.js';
import { enableSharedModels } from '../local/shared-models.js';

enableSharedModels();

const [input, out, model, grid, threads, quality, again] = process.argv.slice(2);
const separate = () => separateFile(input, out, {
  model, format: 'wav32f', grid: grid as FrameGrid, threads: threads ? Number(threads) : undefined,
  // the reference grid is for comparisons with sherpa-onnx, which drops the high band
  highBand: grid === 'reference' ? 'zero' : undefined, quality: parseQuality(quality),
});
const t0 = performance.now();
const r = await separate();
const wallMs = performance.now() - t0;
const maxRssMb = process.resourceUsage().maxRSS / 1024;
const warm = again === 'warm' ? (await separate()).timings : undefined;
console.log(JSON.stringify({
  wallMs,
  timings: r.timings,
  wienerIterations: r.wienerIterations,
  audioSeconds: r.stems[0].frames / r.outputSampleRate,
  maxRssMb,
  warm,
}));
