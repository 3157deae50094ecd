/**
 * The sherpa-onnx reference separator from the shared folder, built on demand into the cache,
 * and the shared MUSDB clips as WAV inputs. Used by the fidelity test and bench:engine.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { ffmpegBinary } from '../layers/audio/ffmpeg.js';
import { cacheDir } from '../layers/core/env.js';
import { sharedDir, unpackSharedModel } from '../local/shared-models.js';

const exec = promisify(execFile);

/**
 * The shared folder, or undefined (with the reason) when this checkout has none. Under CI=true a
 * missing shared folder is an error: CI must run the checks that need it.
 */
export function sharedOrSkipReason(): { dir?: string; reason?: string } {
  const dir = sharedDir();
  if (!existsSync(path.join(dir, 'tools', 'sherpa-reference', 'build.sh'))) {
    return { reason: `shared folder not found at ${dir} (set STEMS_SHARED_DIR)` };
  }
  return { dir };
}


export interface Reference { bin: string; shim: string; libDir: string }

export function buildReference(shared: string): Reference {
  const out = path.join(cacheDir(), 'sherpa-reference');
  const bin = path.join(out, 'sherpa_separate');
  if (!existsSync(bin)) execFileSync('bash', [path.join(shared, 'tools', 'sherpa-reference', 'build.sh'), out], { stdio: 'ignore' });
  const shim = path.join(out, 'capture-model-input.so');
  const src = new URL('./reference-probe/capture-model-input.c', import.meta.url).pathname;
  if (!existsSync(shim)) execFileSync('gcc', ['-shared', '-fPIC', '-O2', '-o', shim, src, '-ldl']);
  return { bin, shim, libDir: path.join(out, 'lib') };
}

export interface ReferenceRun { separateSeconds: number; loadSeconds: number; wallSeconds: number; peakRssMb: number }

/** Runs the reference (Spleeter: two files) on a WAV; optionally captures its model inputs into captureDir. */
export function runReference(ref: Reference, vocals: string, accompaniment: string, wav: string, outDir: string,
  opts: { threads?: number; captureDir?: string } = {}): Promise<ReferenceRun> {
  return runReferenceWith(ref, [vocals, accompaniment], wav, outDir, opts);
}

/** Runs the reference's UVR MDX-Net mode (`--uvr`): writes primary.wav and secondary.wav. */
export function runUvrReference(ref: Reference, model: string, wav: string, outDir: string, opts: { threads?: number } = {}): Promise<ReferenceRun> {
  return runReferenceWith(ref, ['--uvr', model], wav, outDir, opts);
}

async function runReferenceWith(ref: Reference, models: string[], wav: string, outDir: string,
  opts: { threads?: number; captureDir?: string }): Promise<ReferenceRun> {
  mkdirSync(outDir, { recursive: true });
  const env = { ...process.env, LD_LIBRARY_PATH: ref.libDir } as NodeJS.ProcessEnv;
  if (opts.captureDir) {
    mkdirSync(opts.captureDir, { recursive: true });
    env.LD_PRELOAD = ref.shim;
    env.CAPTURE_DIR = opts.captureDir;
  }
  const t0 = performance.now();
  const child = spawn(ref.bin, [...models, wav, outDir, String(opts.threads ?? 2)], { env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => { stdout += c; });
  child.stderr.on('data', (c) => { stderr += c; });
  let peakKb = 0;
  const poll = setInterval(() => {
    try {
      const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (m) peakKb = Math.max(peakKb, Number(m[1]));
    } catch { /* exited */ }
  }, 20);
  const code = await new Promise<number | null>((r) => child.on('close', r));
  clearInterval(poll);
  if (code !== 0) throw new Error(`reference failed (${code}): ${stderr.trim()}`);
  const num = (k: string) => Number(new RegExp(`${k}=([\\d.]+)`).exec(stdout)?.[1]);
  return { separateSeconds: num('separate_seconds'), loadSeconds: num('load_seconds'), wallSeconds: (performance.now() - t0) / 1000, peakRssMb: peakKb / 1024 };
}

export function musdbSongs(shared: string, split = 'test'): string[] {
  const d = path.join(shared, 'datasets', 'musdb18-7', split);
  return readdirSync(d).filter((f) => f.endsWith('.stem.mp4')).sort().map((f) => path.join(d, f));
}

/** The mixture stream (0) of one or more MUSDB clips, concatenated into one float WAV. */
export async function mixtureWav(songs: string[], out: string): Promise<string> {
  if (existsSync(out)) return out;
  mkdirSync(path.dirname(out), { recursive: true });
  const list = `${out}.txt`;
  writeFileSync(list, songs.map((s) => `file '${s.replace(/'/g, "'\\''")}'`).join('\n'));
  await exec(ffmpegBinary(), ['-v', 'error', '-y', '-f', 'concat', '-safe', '0', '-i', list, '-map', '0:0', '-c:a', 'pcm_f32le', `${out}.tmp.wav`]);
  await exec('mv', [`${out}.tmp.wav`, out]);
  return out;
}

/** The shared MDX-Net architecture model, unpacked and checksummed by the shared script. */
export function mdxArchModelFile(shared: string): string {
  const dir = execFileSync('bash', [path.join(shared, 'models', 'mdx-arch', 'unpack.sh'), path.join(cacheDir(), 'mdx-arch')]).toString().trim().split('\n').pop()!;
  return path.join(dir, 'mdx-arch.onnx');
}

/** The shared architecture models, unpacked and checksummed by the shared script. */
export async function archModelFiles(): Promise<{ vocals: string; accompaniment: string }> {
  const dir = await unpackSharedModel('models/spleeter-2stems-arch/unpack.sh', 'spleeter-2stems-arch');
  return { vocals: path.join(dir, 'vocals.onnx'), accompaniment: path.join(dir, 'accompaniment.onnx') };
}

/** The engine benchmarks' inputs: MUSDB test clips joined into ~3 and ~10 minutes (made once, in `work`). */
export async function benchInputs(shared: string, work: string): Promise<{ three: string; ten: string }> {
  const songs = musdbSongs(shared);
  return {
    three: await mixtureWav(songs.slice(0, 27), path.join(work, 'three-minutes.wav')),
    ten: await mixtureWav(Array.from({ length: 89 }, (_, i) => songs[i % songs.length]), path.join(work, 'ten-minutes.wav')),
  };
}
