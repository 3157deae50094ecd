/**
 * Fan-out identity: a song cut into segments, each separated by its own local worker on the
 * local stack (S3 -> upload queue -> separate cuts it -> work/*.task.json -> segment queue -> N
 * workers -> stitch), against a single run of the same file with the same model: SDR >= 60 dB per
 * stem, the same length, and no seam (the largest sample-to-sample step around each join within
 * 1.5x of the input's largest). For the default model and the Spleeter architecture model.
 */
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../layers/engine/load-model.js';
import { alignedFrames, planSegments, separateSegment, splitsPerSegment, type SegmentSpec } from '../layers/engine/segments.js';
import { separateFile } from '../layers/engine/separate-file.js';
import { separateStream } from '../layers/engine/separator.js';
import { asMaskModel } from '../layers/engine/types.js';
import { shouldFanOut } from '../layers/jobs/fanout.js';
import type { Job } from '../layers/jobs/job.js';
import { joinSegments } from '../layers/jobs/stitch.js';
import { readModelManifest } from '../layers/models/registry.js';
import type { LocalStack } from '../local/stack.js';
import { enableSharedModels } from '../local/shared-models.js';
import { tmpDir, writeGainModel } from '../dev/models.js';
import { musicLike, writeMusicWav } from '../dev/signals.js';
import { readWav, sdr } from '../dev/wav.js';
import { jobRecordFor, keysUnder, localS3Client, startTestStack } from './helpers/local.js';
import { sharedForTests } from './helpers/prerequisites.js';

async function* chunksOf(x: Float32Array, frames = 4096): AsyncGenerator<Float32Array> {
  for (let i = 0; i < x.length; i += 2 * frames) yield x.subarray(i, Math.min(x.length, i + 2 * frames));
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

/** Largest |x[n+1] - x[n]| per channel over frames [from, to). */
function largestStep(x: Float32Array, from = 0, to = x.length / 2): number {
  let m = 0;
  for (let i = Math.max(1, from); i < Math.min(to, x.length / 2); i++) {
    m = Math.max(m, Math.abs(x[2 * i] - x[2 * i - 2]), Math.abs(x[2 * i + 1] - x[2 * i - 1]));
  }
  return m;
}

/** Frames where one segment's samples give way to the next: both ends of every crossfade. */
function joins(segments: SegmentSpec[]): number[] {
  return segments.slice(1).flatMap((b, k) => [b.keepStart, segments[k].keepEnd]);
}

describe('segments on the split grid', () => {
  it.each([
    ['masks', undefined],
    ['Wiener filtering (quality best)', { iterations: 1, softmask: false, residual: false, blockFrames: 16 }],
  ] as const)('cover the song, overlap by one split less the padding, and joined reproduce a single run (gain model, %s)', async (_, wiener) => {
    const dir = writeGainModel({ id: 'seg-gain', gains: { vocals: 2, accompaniment: 1 } });
    const manifest = await readModelManifest(dir);
    const model = asMaskModel((await loadModel(dir, 1)).model);
    const N = 20_011;
    const x = musicLike(N);
    const single: Float32Array[][] = [[], []];
    await separateStream(chunksOf(x), model, async (b, n) => { for (const [i, s] of b.entries()) single[i].push(s.slice(0, 2 * n)); }, { wiener });
    const segments = planSegments(manifest, N, 3);
    expect(segments.length).toBeGreaterThan(5);
    expect(segments[0].keepStart).toBe(0);
    expect(segments.at(-1)!.keepEnd).toBe(N);
    expect(segments.at(-1)!.endFrame).toBe(alignedFrames(manifest, N));
    const split = manifest.framesPerSplit * manifest.stft.hop;
    for (let k = 1; k < segments.length; k++) {
      expect(segments[k].firstFrame % manifest.framesPerSplit).toBe(0);
      expect(segments[k - 1].keepEnd - segments[k].keepStart).toBe(split - (manifest.stft.nFft - manifest.stft.hop));
    }
    const outs: Float32Array[][] = [];
    for (const seg of segments) {
      const parts: Float32Array[][] = [[], []];
      await separateSegment(chunksOf(x.subarray(2 * Math.max(0, seg.readStart)), 1000), model, seg, async (b, n) => { for (const [i, s] of b.entries()) parts[i].push(s.slice(0, 2 * n)); }, { wiener });
      outs.push(parts.map(concat));
      expect(outs.at(-1)![0].length).toBe(2 * (seg.keepEnd - seg.keepStart));
    }
    for (let s = 0; s < 2; s++) {
      const joined: Float32Array[] = [];
      await joinSegments(segments, async (i) => outs[i][s], async (p) => { joined.push(p.slice()); });
      const ref = concat(single[s]);
      const got = concat(joined);
      expect(got.length).toBe(ref.length);
      expect(sdr(ref, got)).toBeGreaterThan(100);
    }
  });
});

describe('when a song fans out', () => {
  const settings = { segmentSeconds: 120, timeFraction: 0.5, aboveSeconds: undefined };
  const song = async (model: string, seconds: number) => ({ manifest: await readModelManifest(model), source: { durationSeconds: seconds } as never });

  it('fans out a mask model when a single run would take more than the time fraction of the timeout, in whole splits', async () => {
    const ten = await song('default', 600);
    expect(shouldFanOut(ten, 449, 900, settings)).toMatchObject({ fanOut: false, reason: 'fits one run' });
    // 120 s is 10.09 splits of 11.89 s: 10 per segment
    expect(shouldFanOut(ten, 451, 900, settings)).toMatchObject({ fanOut: true, splitsPerSegment: 10 });
    expect(shouldFanOut(ten, 10, 900, { ...settings, aboveSeconds: 300 })).toMatchObject({ fanOut: true, reason: 'longer than 300 s' });
    expect(shouldFanOut(ten, 10, 900, { ...settings, segmentSeconds: 1 })).toMatchObject({ splitsPerSegment: 2 });
  });

  it('never cuts a song shorter than one segment, nor a chunk model (mdx)', async () => {
    expect(shouldFanOut(await song('default', 100), 10_000, 900, settings)).toMatchObject({ fanOut: false, reason: 'shorter than one segment' });
    const mdx = { manifest: { ...(await readModelManifest('default')), family: 'mdx' }, source: { durationSeconds: 3600 } as never };
    expect(shouldFanOut(mdx, 10_000, 900, settings)).toMatchObject({ fanOut: false, reason: 'family mdx runs as one piece' });
  });
});

describe('fan-out on the local stack', () => {
  const shared = sharedForTests();
  let stack: LocalStack;
  let s3: S3Client;
  const dir = tmpDir('fanout');

  beforeAll(async () => {
    if (shared) enableSharedModels();
    stack = await startTestStack({
      concurrency: 1, workers: 2,
      // short segments so a 30-36 s clip fans out: 24 s rounds to 2 splits of 11.9 s for these models
      env: { STEMS_FANOUT_SEGMENT_S: '24', STEMS_FANOUT_ABOVE_S: '20', STEMS_THREADS: '2' },
    });
    s3 = localS3Client(stack);
  });
  afterAll(() => stack?.close());

  async function fanOutAgainstSingle(model: string, seconds: number, minSegments: number) {
    const input = writeMusicWav(dir, `${model}.wav`, seconds);
    const key = `uploads/${model}-song.wav`;
    await s3.send(new PutObjectCommand({ Bucket: stack.bucket, Key: key, Body: readFileSync(input), Metadata: { model, format: 'wav32f' } }));
    let job: Job | undefined;
    const seen = new Set<number>();
    for (let i = 0; i < 2400 && job?.state !== 'done' && job?.state !== 'failed'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      job = await jobRecordFor(s3, stack.bucket, key);
      if (job?.progress?.segments) seen.add(job.progress.segments.done);
    }
    expect(job, JSON.stringify(job?.error)).toMatchObject({ state: 'done' });
    const fanout = job!.fanout!;
    expect(fanout.total).toBeGreaterThanOrEqual(minSegments);
    expect(job!.progress).toMatchObject({ stage: 'done', segments: { done: fanout.total, total: fanout.total } });
    // the stitch removes work/ right after marking the job done (its invocation ends then)
    await stack.idle();
    expect(await keysUnder(s3, stack.bucket, `work/${job!.id}/`)).toEqual([]);

    const single = path.join(dir, `${model}-single`);
    const result = await separateFile(input, single, { model, format: 'wav32f' });
    const manifest = await readModelManifest(model);
    const segments = planSegments(manifest, fanout.samples, splitsPerSegment(manifest, 24));
    expect(segments.length).toBe(fanout.total);
    const inputStep = largestStep(readWav(input).data);
    const report: Record<string, object> = {};
    for (const { stem, file } of result.stems) {
      const ref = readWav(file).data;
      const key = job!.result!.stems.find((s) => s.stem === stem)!.key;
      const got = new Uint8Array(await (await s3.send(new GetObjectCommand({ Bucket: stack.bucket, Key: key }))).Body!.transformToByteArray());
      const out = path.join(dir, `${model}-${stem}-fanout.wav`);
      writeFileSync(out, got);
      const fan = readWav(out).data;
      expect(fan.length).toBe(ref.length);
      const score = sdr(ref, fan);
      const seams = joins(segments).map((j) => largestStep(fan, j - 1024, j + 1024));
      report[stem] = { sdr: Number(score.toFixed(1)), seams: seams.map((x) => Number(x.toFixed(4))), inputStep: Number(inputStep.toFixed(4)) };
      expect(score).toBeGreaterThanOrEqual(60);
      for (const step of seams) expect(step).toBeLessThanOrEqual(1.5 * inputStep);
    }
    console.log(`fan-out identity ${model} (${fanout.total} segments):`, JSON.stringify(report));
  }

  it('default model: fan-out matches a single run (SDR >= 60 dB per stem, same length, no seam)', async () => {
    await fanOutAgainstSingle('default', 36, 3);
  }, 240_000);

  it.runIf(shared)('Spleeter architecture model: fan-out matches a single run', async () => {
    await fanOutAgainstSingle('spleeter-2stems-arch', 30, 2);
  }, 240_000);
});
