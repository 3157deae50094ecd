/**
 * Real FFT of any size 32 x 2^a 3^b 5^c in float32: PFFFT compiled to WebAssembly with SIMD
 * (@echogarden/pffft-wasm), the engine's FFT at every size (Spleeter's 4096, MDX-Net's 5120,
 * 6144, 7680); bench:fft measures it against KissFFT (wasm) and fft.js.
 *
 * The package's loader finds its .wasm next to its own script; we hand it the bytes so the same
 * code works from a bundle (the package stays external to the Lambda bundle, see bundle.ts).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

interface PffftModule {
  _pffft_new_setup(n: number, type: number): number;
  _pffft_transform_ordered(setup: number, input: number, output: number, work: number, direction: number): void;
  _pffft_aligned_malloc(bytes: number): number;
  HEAPF32: Float32Array;
}

const REAL = 0;
const FORWARD = 0;
const BACKWARD = 1;

const require = createRequire(import.meta.url);
let loaded: Promise<PffftModule> | undefined;

function loadModule(): Promise<PffftModule> {
  loaded ??= (async () => {
    const script = path.join(path.dirname(require.resolve('@echogarden/pffft-wasm')), '..', 'simd', 'pffft.js');
    const factory = (await import(pathToFileURL(script).href)).default as (m: object) => Promise<PffftModule>;
    return factory({ wasmBinary: readFileSync(path.join(path.dirname(script), 'pffft.wasm')) });
  })();
  return loaded;
}

let mod: PffftModule | undefined;
/** Bumped whenever an allocation replaced WebAssembly memory (which detaches every view of it). */
let heapGeneration = 0;
let heapBuffer: ArrayBufferLike | undefined;

/** Loads the WebAssembly module once; call before constructing a PffftReal. */
export async function loadPffft(): Promise<void> {
  mod ??= await loadModule();
}

/** PFFFT needs n a multiple of 32 whose other factors are 2, 3 and 5. */
export function pffftSupports(n: number): boolean {
  if (n <= 0 || n % 32 !== 0) return false;
  let m = n / 32;
  for (const p of [2, 3, 5]) while (m % p === 0) m /= p;
  return m === 1;
}

/**
 * One size, its buffers in WebAssembly memory. Packed half spectrum, as PFFFT orders it:
 * [X0.re, X(n/2).re, X1.re, X1.im, X2.re, ...]. Forward and backward are unscaled.
 */
export class PffftReal {
  private readonly m: PffftModule;
  private readonly setup: number;
  private readonly inPtr: number;
  private readonly outPtr: number;
  private readonly workPtr: number;

  constructor(readonly n: number) {
    if (!mod) throw new Error('PFFFT is not loaded: await loadPffft() first');
    if (!pffftSupports(n)) throw new Error(`PFFFT cannot transform size ${n} (needs 32 x 2^a 3^b 5^c)`);
    this.m = mod;
    this.setup = mod._pffft_new_setup(n, REAL);
    this.inPtr = mod._pffft_aligned_malloc(4 * n);
    this.outPtr = mod._pffft_aligned_malloc(4 * n);
    this.workPtr = mod._pffft_aligned_malloc(4 * n);
    if (mod.HEAPF32.buffer !== heapBuffer) {
      heapBuffer = mod.HEAPF32.buffer;
      heapGeneration++;
    }
    this.generation = -1;
    this.inView = this.outView = new Float32Array(0);
    this.views();
  }

  private inView: Float32Array;
  private outView: Float32Array;
  private generation: number;

  /**
   * The input buffer, a view into WebAssembly memory. Views are made anew only when memory growth
   * (only ever in a constructor's allocation) replaced the memory: an integer check per call.
   */
  get input(): Float32Array {
    if (this.generation !== heapGeneration) this.views();
    return this.inView;
  }

  get output(): Float32Array {
    if (this.generation !== heapGeneration) this.views();
    return this.outView;
  }

  private views(): void {
    this.generation = heapGeneration;
    const heap = this.m.HEAPF32;
    this.inView = heap.subarray(this.inPtr >> 2, (this.inPtr >> 2) + this.n);
    this.outView = heap.subarray(this.outPtr >> 2, (this.outPtr >> 2) + this.n);
  }

  /** input (n reals) → output (packed half spectrum). */
  forward(): void {
    this.m._pffft_transform_ordered(this.setup, this.inPtr, this.outPtr, this.workPtr, FORWARD);
  }

  /** input (packed half spectrum) → output (n reals, times n). */
  backward(): void {
    this.m._pffft_transform_ordered(this.setup, this.inPtr, this.outPtr, this.workPtr, BACKWARD);
  }
}
