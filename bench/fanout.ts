/**
 * bench:fanout — one >= 10-minute song on the local stack: a single run against fan-out with 1, 2
 * and 4 local segment workers (same handlers, same queues as AWS), each in its own process. For
 * each: wall time (upload to done) and the critical path (cutting + longest segment + stitch, as
 * the job record measured them). From the 1-worker run's per-segment costs, the projected wall
 * time on AWS with N = 8, 16, 32 workers (model printed below).
 *
 *   npm run bench:fanout [-- --model spleeter-2stems-arch --segment 120]   (under `flock /tmp/heavy.lock` on shared machines)
 */
import { execFile } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { cacheDir } from '../layers/core/env.js';
import { planSegments } from '../layers/engine/segments.js';
import type { Job } from '../layers/jobs/job.js';
import { readModelManifest } from '../layers/models/registry.js';
import { enableSharedModels } from '../local/shared-models.js';
import { benchInputs, sharedOrSkipReason } from '../dev/reference.js';

const exec = promisify(execFile);
const arg = (name: string, fallback: string) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : fallback);
const model = arg('--model', 'spleeter-2stems-arch');
const segmentSeconds = Number(arg('--segment', '120'));
/** S3 event → SQS → Lambda poll, per hop (upload → cut, task → segment, last segment → stitch): an assumption, not measured here. */
const HOP_S = 1;

const { dir: shared, reason } = sharedOrSkipReason();
if (!shared) {
  console.error(`bench:fanout needs the shared folder: ${reason}`);
  process.exit(1);
}
enableSharedModels();
const { ten } = await benchInputs(shared, path.join(cacheDir(), 'bench-engine'));

interface Run { wallMs: number; job: Job }
async function run(workers: number, mode: 'single' | 'fanout'): Promise<Run> {
  const { stdout } = await exec('node', ['--import', 'tsx', path.join(import.meta.dirname, 'fanout-once.ts'), ten, model, String(workers), mode, String(segmentSeconds)],
    { maxBuffer: 64 << 20 });
  return JSON.parse(stdout.trim().split('\n').pop()!);
}

const s = (ms: number) => (ms / 1000).toFixed(1);
const single = await run(1, 'single');
const audio = single.job.source!.durationSeconds!;
console.log(`machine: ${os.cpus()[0].model}, ${os.availableParallelism()} cores; model ${model}; song ${audio.toFixed(1)} s (wav, MUSDB mixture); STEMS_THREADS = all cores in every worker`);
const st = single.job.timings!;
console.log(`single run: wall ${s(single.wallMs)} s (separation ${s(st.totalMs!)} s: inference ${s(st.inferenceMs!)}, encode ${s(st.encodeMs!)}, results to S3 ${s(st.uploadResultsMs!)})`);

const manifest = await readModelManifest(model);
const runs: { workers: number; r: Run; critical: number }[] = [];
for (const workers of [1, 2, 4]) {
  const r = await run(workers, 'fanout');
  const f = r.job.fanout!;
  const segMs = Object.values(f.segmentMs!);
  const critical = f.planMs! + Math.max(...segMs) + f.stitchMs!;
  runs.push({ workers, r, critical });
  console.log(`fan-out, ${workers} worker(s): ${f.total} segments of ${f.splitsPerSegment} splits; wall ${s(r.wallMs)} s (${(single.wallMs / r.wallMs).toFixed(2)}x the single run); `
    + `cut ${s(f.planMs!)} s, segments ${segMs.map(s).join(' / ')} s (sum ${s(segMs.reduce((a, b) => a + b, 0))}), `
    + `stitch ${s(f.stitchMs!)} s (read + crossfade + encode ${s(r.job.timings!.encodeMs!)}, results to S3 ${s(r.job.timings!.uploadResultsMs!)}); critical path ${s(critical)} s`);
}

// cost model from the uncontended (1-worker) run: a segment of n splits takes a + b·n
const base = runs[0].r.job.fanout!;
const segs = planSegments(manifest, base.samples, base.splitsPerSegment);
const F = manifest.framesPerSplit;
const pts = segs.map((g) => ({ n: (g.endFrame - g.firstFrame) / F, t: base.segmentMs![g.index] / 1000 }));
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const mn = mean(pts.map((p) => p.n));
const mt = mean(pts.map((p) => p.t));
const varN = mean(pts.map((p) => (p.n - mn) ** 2));
const b = varN > 1e-9 ? mean(pts.map((p) => (p.n - mn) * (p.t - mt))) / varN : mt / mn;
const a = Math.max(0, mt - b * mn);
const P = Math.ceil(segs.at(-1)!.endFrame / F);
const plan = base.planMs! / 1000;
const stitch = base.stitchMs! / 1000;
// the local workers are warm after their first segment (one process, sessions cached); a fresh Lambda worker loads the model first
const load = (single.job.timings!.loadModelMs ?? 0) / 1000;
console.log('');
console.log(`model: a segment of n splits (${(F * manifest.stft.hop / manifest.sampleRate).toFixed(2)} s each) costs a + b·n = ${a.toFixed(2)} + ${b.toFixed(2)}·n s (least squares over the 1-worker run's ${pts.length} segments: fixed part = model load, download, decode up to the segment);`);
console.log(`with N workers the song is cut into at most N segments of L = max(2, ceil((P-1)/N)+1) splits (P = ${P}); projected wall = cut ${plan.toFixed(1)} s + model load ${load.toFixed(1)} s + (a + b·L) + stitch ${stitch.toFixed(1)} s + 3 queue hops × ${HOP_S} s;`);
console.log('assumes each Lambda worker has this machine\'s per-core speed and core count (2), all N start at once (segment queue concurrency >= N), and excludes the container\'s own cold start (bench:cold-start: the bundle imports in ~0.2 s; image pull not measured here).');
const projected = (n: number) => {
  const L = Math.max(2, Math.ceil((P - 1) / n) + 1);
  return { L, seconds: plan + load + a + b * L + stitch + 3 * HOP_S };
};
for (const n of [8, 16, 32]) {
  const p = projected(n);
  console.log(`projected N=${n}: ${p.seconds.toFixed(1)} s (${planSegments(manifest, base.samples, p.L).length} segments of ${p.L} splits; ${(single.wallMs / 1000 / p.seconds).toFixed(1)}x the single run)`);
}
console.log(`bench:fanout single_s=${s(single.wallMs)} critical_path_s=${s(runs[0].critical)} projected_8=${projected(8).seconds.toFixed(1)} projected_32=${projected(32).seconds.toFixed(1)}`);
