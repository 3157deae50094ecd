/**
 * What the limits before work cost: probeAudio (sandboxed ffprobe + the demux-only counting pass
 * that catches lying duration headers) on long uploads, against ffprobe alone in the same run.
 *
 *   npm run bench:probe
 */
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ffmpegBinary, ffprobeBinary } from '../layers/audio/ffmpeg.js';
import { probeAudio } from '../layers/audio/probe.js';

const dir = path.join(os.tmpdir(), `bench-probe-${process.pid}`);
execFileSync('mkdir', ['-p', dir]);
const make = (name: string, seconds: number, args: string[]) => {
  const file = path.join(dir, name);
  execFileSync(ffmpegBinary(), ['-v', 'error', '-y', '-f', 'lavfi', '-i', `anoisesrc=d=${seconds}:r=44100:a=0.1`, '-ac', '2', ...args, file]);
  return file;
};
const files = [
  make('20min-128k.mp3', 1200, ['-c:a', 'libmp3lame', '-b:a', '128k']),
  make('10min.wav', 600, ['-c:a', 'pcm_s16le']),
  make('20min.flac', 1200, ['-c:a', 'flac']),
];
const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`ffprobe ${execFileSync(ffprobeBinary(), ['-version'], { encoding: 'utf8' }).split('\n')[0]}; ${os.cpus().length} CPUs`);
for (const f of files) {
  const plain: number[] = [];
  const full: number[] = [];
  for (let i = 0; i < 5; i++) {
    let t = performance.now();
    execFileSync(ffprobeBinary(), ['-v', 'error', '-of', 'json', '-show_format', '-show_streams', f]);
    plain.push(performance.now() - t);
    t = performance.now();
    await probeAudio(f, path.basename(f), { maxSeconds: 1200 });
    full.push(performance.now() - t);
  }
  const p = median(plain);
  const q = median(full);
  console.log(`${path.basename(f)} (${(statSync(f).size / 1048576).toFixed(0)} MB): ffprobe alone ${p.toFixed(0)} ms, probeAudio (sandboxed probe + counting pass) ${q.toFixed(0)} ms (${(q / p).toFixed(1)}x)`);
}
execFileSync('rm', ['-rf', dir]);
