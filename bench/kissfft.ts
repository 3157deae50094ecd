/**
 * KissFFT (float32) compiled to WebAssembly, from the kissfft-wasm package. The reference
 * pipeline (sherpa-onnx → kaldi-native-fbank) computes its STFT with KissFFT in float32; running
 * the same code keeps our model inputs bit-identical to it, which matters because mask models can
 * turn a last-bit difference into an audible one.
 *
 * The package's own loader fetches the .wasm with `fetch()` (which fails on file paths in Node),
 * so we instantiate its Emscripten factory directly with the bytes.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

interface KissModule {
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  _kiss_fftr_alloc(nfft: number, inverse: number, mem: number, lenmem: number): number;
  _kiss_fftr(cfg: number, timedata: number, freqdata: number): void;
  _kiss_fftri(cfg: number, freqdata: number, timedata: number): void;
  HEAPF32: Float32Array;
}

const require = createRequire(import.meta.url);
const factoryPath = require.resolve('kissfft-wasm/lib/kissfft.js');

async function instantiate(): Promise<KissModule> {
  const before = {
    exception: process.listeners('uncaughtException'),
    rejection: process.listeners('unhandledRejection'),
  };
  const factory = require(factoryPath) as (m: object) => Promise<KissModule>;
  const mod = await factory({ wasmBinary: readFileSync(path.join(path.dirname(factoryPath), 'kissfft.wasm')) });
  // Emscripten installs process-wide handlers that abort on any unhandled rejection: remove them.
  for (const l of process.listeners('uncaughtException')) if (!before.exception.includes(l)) process.off('uncaughtException', l);
  for (const l of process.listeners('unhandledRejection')) if (!before.rejection.includes(l)) process.off('unhandledRejection', l);
  return mod;
}

const kiss = await instantiate();

/**
 * Real FFT of size n in float32: forward, n reals in, n/2+1 complex (interleaved) out; inverse
 * (unscaled), n/2+1 complex in, n reals out.
 */
export class KissRealFft {
  private readonly cfg: number;
  private readonly inPtr: number;
  private readonly outPtr: number;

  constructor(readonly n: number, readonly inverse = false) {
    this.cfg = kiss._kiss_fftr_alloc(n, inverse ? 1 : 0, 0, 0);
    this.inPtr = kiss._malloc((n + 2) * 4);
    this.outPtr = kiss._malloc((n + 2) * 4);
  }

  /** The input buffer (a view into WASM memory: fill it, then call run()): n reals, or n/2+1 complex for the inverse. */
  get input(): Float32Array {
    return kiss.HEAPF32.subarray(this.inPtr >> 2, (this.inPtr >> 2) + (this.inverse ? this.n + 2 : this.n));
  }

  /** Runs the transform and returns a view of its output. */
  run(): Float32Array {
    if (this.inverse) kiss._kiss_fftri(this.cfg, this.inPtr, this.outPtr);
    else kiss._kiss_fftr(this.cfg, this.inPtr, this.outPtr);
    return kiss.HEAPF32.subarray(this.outPtr >> 2, (this.outPtr >> 2) + (this.inverse ? this.n : this.n + 2));
  }
}
