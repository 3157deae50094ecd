/**
 * Real FFT of any size 32 x 2^a 3^b 5^c in float32: PFFFT compiled to WebAssembly with SIMD
 * (@echogarden/pffft-wasm), the engine's FFT at every size (Spleeter's 4096, MDX-Net's 5120,
 * 6144, 7680); bench:fft measures it against KissFFT (wasm) and fft.js.
 *
 * The package's loader finds its .wasm next to its own script; we hand it the bytes so the same
 * code works from a bundle (the package stays external to the Lambda bundle, see bundle.ts).
 * The frame kernels (frame-kernels.wat: windowing, overlap-add, packing, magnitudes) run on the
 * same WebAssembly memory, so a frame's loops around the FFT are SIMD too.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { FRAME_KERNELS_WASM } from './frame-kernels.wasm.js';

interface PffftModule {
  _pffft_new_setup(n: number, type: number): number;
  _pffft_transform_ordered(setup: number, input: number, output: number, work: number, direction: number): void;
  _pffft_aligned_malloc(bytes: number): number;
  _pffft_aligned_free(ptr: number): void;
  HEAPF32: Float32Array;
}

/** frame-kernels.wat's exports: pointers are byte addresses in PFFFT's memory. */
export interface FrameKernels {
  mul(dst: number, a: number, b: number, n: number): void;
  mulAdd(acc: number, a: number, b: number, n: number): void;
  unpack(src: number, re: number, im: number, mag: number, n: number, m: number): void;
  pack(dst: number, re: number, im: number, g: number, scalar: number, n: number): void;
  ratioMasks(est: number, masks: number, stride: number, stems: number, n: number, eps: number): void;
  normInterleave(dst: number, L: number, R: number, d: number, floor: number, n: number): void;
}

const REAL = 0;
const FORWARD = 0;
const BACKWARD = 1;

const require = createRequire(import.meta.url);
let loaded: Promise<{ mod: PffftModule; kernels: FrameKernels }> | undefined;

/**
 * Instantiates PFFFT through emscripten's instantiateWasm hook, which hands us its memory, and
 * the frame kernels on that same memory.
 */
function loadModule(): Promise<{ mod: PffftModule; kernels: FrameKernels }> {
  loaded ??= (async () => {
    const script = path.join(path.dirname(require.resolve('@echogarden/pffft-wasm')), '..', 'simd', 'pffft.js');
    const factory = (await import(pathToFileURL(script).href)).default as (m: object) => Promise<PffftModule>;
    const binary = readFileSync(path.join(path.dirname(script), 'pffft.wasm'));
    let memory: WebAssembly.Memory | undefined;
    const mod = await factory({
      instantiateWasm(imports: WebAssembly.Imports, receive: (instance: WebAssembly.Instance, module: WebAssembly.Module) => void) {
        void WebAssembly.instantiate(binary, imports).then(({ instance, module }) => {
          memory = Object.values(instance.exports).find((e): e is WebAssembly.Memory => e instanceof WebAssembly.Memory);
          receive(instance, module);
        });
        return {}; // emscripten: instantiation is under way
      },
    });
    if (!memory) throw new Error('PFFFT exports no memory: the frame kernels cannot share it');
    const kernels = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(FRAME_KERNELS_WASM, 'base64')), { env: { memory } })
      .exports as unknown as FrameKernels;
    return { mod, kernels };
  })();
  return loaded;
}

let mod: PffftModule | undefined;
let kernelExports: FrameKernels | undefined;
/** Bumped whenever an allocation replaced WebAssembly memory (which detaches every view of it). */
let heapGeneration = 0;
let heapBuffer: ArrayBufferLike | undefined;

/** Loads the WebAssembly modules once; call before constructing a PffftReal or HeapFloats. */
export async function loadPffft(): Promise<void> {
  if (mod) return;
  ({ mod, kernels: kernelExports } = await loadModule());
}

/** The frame kernels (after loadPffft). */
export function frameKernels(): FrameKernels {
  if (!kernelExports) throw new Error('PFFFT is not loaded: await loadPffft() first');
  return kernelExports;
}

/** PFFFT needs n a multiple of 32 whose other factors are 2, 3 and 5. */
export function pffftSupports(n: number): boolean {
  if (n <= 0 || n % 32 !== 0) return false;
  let m = n / 32;
  for (const p of [2, 3, 5]) while (m % p === 0) m /= p;
  return m === 1;
}

/**
 * Floats in WebAssembly memory (SIMD-aligned), for the FFT and the kernels. The view is made anew
 * only when memory growth (only ever in an allocation) replaced the memory: an integer check per
 * use, so take `view` again after anything that may allocate. Shared transforms keep theirs for the
 * process; a separation frees its own (free()).
 */
export class HeapFloats {
  ptr: number;
  private readonly m: PffftModule;
  private generation = -1;
  private current: Float32Array = new Float32Array(0);

  constructor(readonly length: number) {
    if (!mod) throw new Error('PFFFT is not loaded: await loadPffft() first');
    this.m = mod;
    this.ptr = mod._pffft_aligned_malloc(4 * length);
    if (mod.HEAPF32.buffer !== heapBuffer) {
      heapBuffer = mod.HEAPF32.buffer;
      heapGeneration++;
    }
  }

  /** Returns the memory to PFFFT's allocator; the buffer must not be used afterwards. */
  free(): void {
    if (this.ptr === 0) return;
    this.m._pffft_aligned_free(this.ptr);
    this.ptr = 0;
    this.current = new Float32Array(0);
    this.generation = -1;
  }

  get view(): Float32Array {
    if (this.ptr === 0) throw new Error('HeapFloats used after free()');
    if (this.generation !== heapGeneration) {
      this.generation = heapGeneration;
      this.current = this.m.HEAPF32.subarray(this.ptr >> 2, (this.ptr >> 2) + this.length);
    }
    return this.current;
  }
}

/** The byte address of a[index] when `a` is a view of WebAssembly memory (kernels can read it in place), else -1. */
export function heapAddress(a: Float32Array, index: number): number {
  return mod && a.buffer === mod.HEAPF32.buffer ? a.byteOffset + 4 * index : -1;
}

/**
 * One size, its buffers in WebAssembly memory. Packed half spectrum, as PFFFT orders it:
 * [X0.re, X(n/2).re, X1.re, X1.im, X2.re, ...]. Forward and backward are unscaled.
 */
export class PffftReal {
  private readonly m: PffftModule;
  private readonly setup: number;
  readonly in: HeapFloats;
  readonly out: HeapFloats;
  private readonly work: HeapFloats;

  constructor(readonly n: number) {
    if (!mod) throw new Error('PFFFT is not loaded: await loadPffft() first');
    if (!pffftSupports(n)) throw new Error(`PFFFT cannot transform size ${n} (needs 32 x 2^a 3^b 5^c)`);
    this.m = mod;
    this.setup = mod._pffft_new_setup(n, REAL);
    this.in = new HeapFloats(n);
    this.out = new HeapFloats(n);
    this.work = new HeapFloats(n);
  }

  /** The input buffer, a view into WebAssembly memory. */
  get input(): Float32Array {
    return this.in.view;
  }

  get output(): Float32Array {
    return this.out.view;
  }

  /** input (n reals) → output (packed half spectrum). */
  forward(): void {
    this.m._pffft_transform_ordered(this.setup, this.in.ptr, this.out.ptr, this.work.ptr, FORWARD);
  }

  /** input (packed half spectrum) → output (n reals, times n). */
  backward(): void {
    this.m._pffft_transform_ordered(this.setup, this.in.ptr, this.out.ptr, this.work.ptr, BACKWARD);
  }
}
