/**
 * bench:fft — the FFT choice, measured at the engine's transform sizes, forward and inverse:
 * fft.js (JS, float64, powers of two only), KissFFT (wasm, float32, mixed radix; kissfft-wasm),
 * PFFFT (wasm SIMD, float32, 32 x 2^a 3^b 5^c; @echogarden/pffft-wasm), webfft when installed
 * (powers of two only), and the engine's own FrameTransform (PFFFT plus its fused passes: window
 * and unpack forward, mask/pack and window/overlap-add inverse), which is what one frame of one
 * channel costs the STFT and the iSTFT. µs per real transform of one channel.
 *
 * fft.js has no real inverse: the engine used to invert both channels of a frame with one complex
 * transform, so its inverse column is half a complex inverse.
 *
 *   npm run bench:fft [-- --n 4096,5120,6144,7680]
 */
import FFT from 'fft.js';
import os from 'node:os';
import { loadPffft, PffftReal } from '../layers/engine/pffft.js';
import { FrameTransform } from '../layers/engine/stft.js';
import { KissRealFft } from './kissfft.js';

const arg = process.argv.indexOf('--n');
const sizes = (arg > 0 ? process.argv[arg + 1] : '4096,5120,6144,7680').split(',').map(Number);
const frames = 20000;

function time(fn: () => void): number {
  for (let i = 0; i < 500; i++) fn(); // warm up the JIT
  // best of three passes: other work on a shared machine only ever adds time
  let best = Infinity;
  for (let pass = 0; pass < 3; pass++) {
    const t0 = performance.now();
    for (let i = 0; i < frames / 3; i++) fn();
    best = Math.min(best, ((performance.now() - t0) * 1000) / (frames / 3));
  }
  return best;
}

// webfft is not a dependency (powers of two only, so it cannot serve the MDX sizes); measured when present
const webfft = await import('webfft' as string).then((m) => m.default as new (n: number) => { fftr(a: Float32Array): Float32Array }).catch(() => undefined);
await loadPffft();
console.log(`µs per real transform of one channel (best of 3 x ${Math.round(frames / 3)}); ${os.cpus()[0].model}, node ${process.version}`);
console.log('      n  direction   fft.js  kissfft   pffft  webfft  engine');
const summary: string[] = [];
for (const n of sizes) {
  const input = new Float32Array(n).map((_, i) => Math.sin(i * 0.01) + 0.3 * Math.sin(i * 0.37));
  const pow2 = (n & (n - 1)) === 0;
  const row: Record<string, [number, number]> = {};
  if (pow2) {
    const f = new FFT(n);
    const spec = new Float64Array(2 * n);
    const frame = Float64Array.from(input);
    const out = new Float64Array(2 * n);
    f.realTransform(spec, frame);
    f.completeSpectrum(spec);
    row.fftjs = [time(() => f.realTransform(spec, frame)), time(() => f.inverseTransform(out, spec)) / 2];
  }
  const kf = new KissRealFft(n);
  const ki = new KissRealFft(n, true);
  kf.input.set(input);
  ki.input.set(kf.run());
  row.kiss = [time(() => { kf.input.set(input); kf.run(); }), time(() => ki.run())];
  const pf = new PffftReal(n);
  pf.input.set(input);
  pf.forward();
  const packed = pf.output.slice();
  row.pffft = [time(() => { pf.input.set(input); pf.forward(); }), time(() => { pf.input.set(packed); pf.backward(); })];
  if (webfft && pow2) {
    const wf = new webfft(n);
    row.webfft = [time(() => wf.fftr(input)), NaN];
  }
  const tf = new FrameTransform(n);
  const re = new Float32Array(n / 2 + 1), im = new Float32Array(n / 2 + 1), mag = new Float32Array(n / 4);
  const mask = new Float32Array(n / 4).fill(0.5);
  const acc = new Float32Array(n);
  tf.forward(input, 0, re, im, 0);
  row.engine = [
    time(() => tf.forwardWithMagnitude(input, 0, re, im, 0, mag, 0, n / 4)),
    time(() => tf.inverseMaskedAdd(re, im, 0, mask, 0, n / 4, 0, acc, 0)),
  ];
  const c = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '      -' : v.toFixed(1).padStart(7));
  for (const [d, label] of [[0, 'forward'], [1, 'inverse']] as const) {
    console.log(`${String(n).padStart(7)}  ${label.padEnd(9)} ${c(row.fftjs?.[d])}  ${c(row.kiss[d])} ${c(row.pffft[d])} ${c(row.webfft?.[d])} ${c(row.engine[d])}`);
    for (const [lib, v] of Object.entries(row)) if (!Number.isNaN(v[d])) summary.push(`n${n}_${label === 'forward' ? 'fwd' : 'inv'}_${lib}_us=${v[d].toFixed(1)}`);
  }
}
console.log(`bench:fft ${summary.join(' ')}`);
