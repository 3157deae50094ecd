/**
 * bench:fft — the FFT choice, measured at the engine's transform sizes: fft.js (JS, float64,
 * powers of two only), KissFFT (wasm, float32, mixed radix; kissfft-wasm), PFFFT (wasm SIMD,
 * float32, 32 x 2^a 3^b 5^c; @echogarden/pffft-wasm) and, if installed, webfft (powers of two
 * only). Real forward transforms (what the STFT does per channel per frame).
 *
 *   npm run bench:fft [-- --n 6144,7680,5120,4096]
 */
import FFT from 'fft.js';
import os from 'node:os';
import { loadPffft, PffftReal } from '../layers/engine/pffft.js';
import { KissRealFft } from './kissfft.js';

const arg = process.argv.indexOf('--n');
const sizes = (arg > 0 ? process.argv[arg + 1] : '4096,5120,6144,7680').split(',').map(Number);
const frames = 20000;

function time(fn: () => void): number {
  for (let i = 0; i < 500; i++) fn(); // warm up the JIT
  const t0 = performance.now();
  for (let i = 0; i < frames; i++) fn();
  return ((performance.now() - t0) * 1000) / frames;
}

// webfft is not a dependency (powers of two only, so it cannot serve the MDX sizes); measured when present
const webfft = await import('webfft' as string).then((m) => m.default as new (n: number) => { fftr(a: Float32Array): Float32Array }).catch(() => undefined);
await loadPffft();
console.log(`${frames} real forward transforms per cell, µs each; ${os.cpus()[0].model}, node ${process.version}`);
console.log('      n   fft.js  kissfft  pffft  webfft');
const summary: string[] = [];
for (const n of sizes) {
  const input = new Float32Array(n).map((_, i) => Math.sin(i * 0.01) + 0.3 * Math.sin(i * 0.37));
  const pow2 = (n & (n - 1)) === 0;
  let fftjs = NaN;
  if (pow2) {
    const f = new FFT(n);
    const spec = new Float64Array(2 * n);
    const frame = Float64Array.from(input);
    fftjs = time(() => f.realTransform(spec, frame));
  }
  const kiss = new KissRealFft(n);
  const k = time(() => { kiss.input.set(input); kiss.run(); });
  const pf = new PffftReal(n);
  const p = time(() => { pf.input.set(input); pf.forward(); });
  let w = NaN;
  if (webfft && pow2) {
    const wf = new webfft(n);
    w = time(() => wf.fftr(input));
  }
  const c = (v: number) => (Number.isNaN(v) ? '     -' : v.toFixed(1).padStart(6));
  console.log(`${String(n).padStart(7)}   ${c(fftjs)}   ${c(k)} ${c(p)}  ${c(w)}`);
  summary.push(`n${n}_pffft_us=${p.toFixed(1)} n${n}_kiss_us=${k.toFixed(1)}${pow2 ? ` n${n}_fftjs_us=${fftjs.toFixed(1)}` : ''}`);
}
console.log(`bench:fft ${summary.join(' ')}`);
