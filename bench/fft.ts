/**
 * bench:fft — the FFT choice, measured: fft.js (JS, float64) against KissFFT compiled to
 * WebAssembly (float32, kissfft-wasm), for the engine's transform size.
 *
 *   npm run bench:fft [-- --n 4096]
 */
import FFT from 'fft.js';
import os from 'node:os';
import { KissRealFft } from './kissfft.js';

const n = Number(process.argv[process.argv.indexOf('--n') + 1]) || 4096;
const frames = 20000;
const input = new Float32Array(n).map((_, i) => Math.sin(i * 0.01) + 0.3 * Math.sin(i * 0.37));

function time(label: string, fn: () => void): number {
  for (let i = 0; i < 500; i++) fn(); // warm up the JIT
  const t0 = performance.now();
  for (let i = 0; i < frames; i++) fn();
  const us = ((performance.now() - t0) * 1000) / frames;
  console.log(`${label.padEnd(44)} ${us.toFixed(1).padStart(7)} µs/transform`);
  return us;
}

const f = new FFT(n);
const spec = new Float64Array(2 * n);
const frame64 = Float64Array.from(input);
const complexIn = new Float64Array(2 * n).map((_, i) => (i % 2 === 0 ? input[i >> 1] : 0));
const complexOut = new Float64Array(2 * n);
const kiss = new KissRealFft(n);

console.log(`n=${n}, ${frames} transforms each; ${os.cpus()[0].model}, node ${process.version}`);
const a = time('fft.js realTransform (real → half spectrum)', () => f.realTransform(spec, frame64));
time('fft.js transform (complex, = 2 real inverses)', () => f.transform(complexOut, complexIn));
const b = time('kissfft-wasm kiss_fftr (real → half spectrum)', () => {
  kiss.input.set(input);
  kiss.run();
});
console.log(`bench:fft fftjs_real_us=${a.toFixed(1)} kiss_real_us=${b.toFixed(1)}`);
