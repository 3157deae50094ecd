/** `stem-splitter submit`: the HTTP API used exactly as the browser page uses it. */
import cliProgress from 'cli-progress';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { createJob, download, unzip, uploadFile, waitForJob } from './api-client.js';
import type { SubmitCommand } from './args.js';
import { stemName } from './output-folders.js';

export async function submit(cmd: SubmitCommand): Promise<void> {
  const options = { model: cmd.model, stems: cmd.stems, format: cmd.format, sampleRate: cmd.sampleRate, quality: cmd.quality, iterations: cmd.iterations };
  const t0 = performance.now();
  const job = await createJob(cmd.api, cmd.file, options);
  await uploadFile(job.upload, cmd.file);
  const t1 = performance.now();
  const bar = new cliProgress.SingleBar({ format: `${job.jobId} [{bar}] {percentage}% {stage}`, stream: process.stderr }, cliProgress.Presets.shades_classic);
  bar.start(100, 0, { stage: 'queued' });
  const status = await waitForJob(cmd.api, job.jobId, {
    onStatus: (s) => bar.update(Math.round((s.progress?.fraction ?? 0) * 100), { stage: s.progress?.stage ?? s.state }),
  });
  bar.stop();
  if (status.state === 'failed') throw new Error(`job ${job.jobId} failed: ${status.error?.code}: ${status.error?.message}`);
  const t2 = performance.now();
  const outDir = path.join(cmd.out, stemName(cmd.file));
  await mkdir(outDir, { recursive: true });
  const zip = path.join(outDir, `.${job.jobId}.zip`);
  try {
    await download(status.downloads!.zip, zip);
    const files = await unzip(zip, outDir);
    const t3 = performance.now();
    const s = (ms: number) => (ms / 1000).toFixed(1);
    console.log(`${cmd.file} -> ${outDir} (${files.join(', ')}); upload ${s(t1 - t0)} s, processing ${s(t2 - t1)} s, download ${s(t3 - t2)} s`);
  } finally {
    await rm(zip, { force: true });
  }
}
