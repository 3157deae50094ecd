/**
 * ONNX Runtime sessions, created once per process and model file and reused by every later call
 * (a warm Lambda container pays no load). Keyed by path, thread count and tuning.
 *
 * Each session lives in a worker thread of its own. onnxruntime-node runs a session synchronously
 * on the thread that calls run() (its promise only defers the call with setImmediate), so a
 * session on the main thread stops the engine's own work (STFT, iSTFT, decode, encode) for as long
 * as the model runs, and two sessions can never run at the same time. In a worker, the model runs
 * while the main thread works on the previous and next split, and the stems' sessions of a
 * multi-file model can run in parallel.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { ModelLoadError } from '../core/errors.js';
import { memoizeAsync } from '../core/memoize.js';

export interface SessionTuning {
  /** Distinguishes sessions of the same file and threads that must run at the same time (default 0). */
  replica?: number;
}

export interface FloatTensor { data: Float32Array; dims: readonly number[] }

/** Where a run reports how long the model itself took (in its worker, queueing excluded). */
export interface RunTiming { ms: number }

/** One model file's session, in its worker. */
export interface ModelSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /**
   * Runs queue in the worker, up to RUNS_QUEUED at once (a further call waits for a slot): the
   * worker goes from one run to the next without waiting for this thread. A run's inputs are
   * copied when it takes its slot (keep them unchanged until it resolves); outputs are the caller's.
   */
  run(feeds: Record<string, FloatTensor>, timing?: RunTiming): Promise<Record<string, FloatTensor>>;
}

/**
 * Runs a session's worker holds at once (one running, the next queued). With one, the worker sat
 * idle from the end of each run until this thread, busy with STFT work, posted the next, and the
 * stems' sessions of a multi-file model waited for each other on every split.
 */
export const RUNS_QUEUED = 2;

/** The session options, in one place (the worker receives them as data). */
export function sessionOptions(intraOpThreads: number): Record<string, unknown> {
  return {
    intraOpNumThreads: intraOpThreads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    // the memory-pattern planner keeps per-shape buffers alive; without it peak RSS drops ~20% at the same speed
    enableMemPattern: false,
    // the CPU arena keeps freed activations for the next run; without it a large segment model's
    // activations (MDX-Net, ~100 MB each) are mmap'd and page-faulted afresh on every run: mdx-arch
    // on the 3-min bench input, 2 threads, this 2-core Xeon: 62.9 s and 1196 MB peak RSS with it,
    // 72.7 s and 1266 MB without (HTDemucs: ~12% faster at the same RSS)
    enableCpuMemArena: true,
    // spinning threads take time slices the other sessions and the main thread need (measured slower on 2 cores)
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
}

// The worker's code (CommonJS, evaluated): loads onnxruntime-node from the path the main thread
// resolved, so it runs the same from the sources and from the Lambda bundle. Inputs cross in
// SharedArrayBuffers that live as long as the session (grown when a larger tensor comes) into
// buffers of the worker's own; outputs are transferred, not copied. The worker keeps no per-run
// garbage: a worker's heap sees too little JS allocation to collect large buffers soon.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ortPath);
const message = (e) => String((e && e.message) || e);
const inputs = {};
ort.InferenceSession.create(workerData.file, workerData.options).then((session) => {
  parentPort.postMessage({ ready: true, inputNames: session.inputNames, outputNames: session.outputNames });
  // runs one at a time, in order: the next may already be queued while one runs
  let chain = Promise.resolve();
  parentPort.on('message', (m) => { chain = chain.then(() => runOne(m)); });
  async function runOne({ id, feeds }) {
    try {
      const tensors = {};
      for (const [name, t] of Object.entries(feeds)) {
        // onnxruntime-node refuses views of shared memory: one copy into a buffer of the worker's own
        let own = inputs[name];
        if (!own || own.length < t.length) own = inputs[name] = new Float32Array(t.length);
        const view = own.length === t.length ? own : new Float32Array(own.buffer, 0, t.length);
        view.set(new Float32Array(t.buffer, 0, t.length));
        tensors[name] = new ort.Tensor('float32', view, t.dims);
      }
      const t0 = performance.now();
      const result = await session.run(tensors);
      const ms = performance.now() - t0;
      const out = {};
      const transfer = [];
      for (const [name, t] of Object.entries(result)) {
        if (t.type !== 'float32') throw new Error('output ' + name + ' is ' + t.type + ', not float32');
        out[name] = { buffer: t.data.buffer, byteOffset: t.data.byteOffset, length: t.data.length, dims: t.dims };
        if (!transfer.includes(t.data.buffer)) transfer.push(t.data.buffer);
      }
      parentPort.postMessage({ id, out, ms }, transfer);
    } catch (e) {
      parentPort.postMessage({ id, error: message(e) });
    }
  }
}, (e) => parentPort.postMessage({ ready: false, error: message(e) }));
`;

interface SharedTensor { buffer: SharedArrayBuffer; length: number; dims: number[] }
interface MovedTensor { buffer: ArrayBuffer; byteOffset: number; length: number; dims: number[] }
interface RunReply { out: Record<string, MovedTensor>; ms: number }

const require = createRequire(import.meta.url);

class WorkerSession implements ModelSession {
  private runs = 0;
  private nextId = 0;
  private readonly waiting = new Map<number, { resolve: (r: RunReply) => void; reject: (e: Error) => void }>();
  /** Input buffers per queue slot: run n uses slot n % RUNS_QUEUED, free once run n - RUNS_QUEUED is done. */
  private readonly slots = Array.from({ length: RUNS_QUEUED }, () => new Map<string, SharedArrayBuffer>());
  private readonly slotDone: Promise<unknown>[] = [];
  /** Set once the worker is gone: every later run fails at once instead of waiting for a reply. */
  private dead: Error | undefined;

  constructor(private readonly worker: Worker, readonly inputNames: readonly string[], readonly outputNames: readonly string[], private readonly file: string) {
    worker.on('message', (m: { id: number; out?: Record<string, MovedTensor>; ms?: number; error?: string }) => {
      const w = this.waiting.get(m.id);
      if (!w) return;
      this.waiting.delete(m.id);
      if (this.waiting.size === 0) worker.unref();
      // as onnxruntime's own errors were before the worker: not a load failure, an internal one
      if (m.error !== undefined) w.reject(new Error(`${this.file}: inference failed: ${m.error}`));
      else w.resolve({ out: m.out!, ms: m.ms ?? 0 });
    });
    worker.on('error', (e) => this.failAll(e));
    worker.on('exit', (code) => this.failAll(new Error(`session worker exited (${code})`)));
    worker.unref(); // an idle session never keeps the process alive
  }

  run(feeds: Record<string, FloatTensor>, timing?: RunTiming): Promise<Record<string, FloatTensor>> {
    const slot = this.runs++ % RUNS_QUEUED;
    const run = (this.slotDone[slot] ?? Promise.resolve()).then(() => this.post(slot, feeds, timing));
    this.slotDone[slot] = run.catch(() => {});
    return run;
  }

  private async post(slot: number, feeds: Record<string, FloatTensor>, timing?: RunTiming): Promise<Record<string, FloatTensor>> {
    if (this.dead) throw this.dead;
    const shared: Record<string, SharedTensor> = {};
    const inputs = this.slots[slot];
    for (const [name, t] of Object.entries(feeds)) {
      let buffer = inputs.get(name);
      if (!buffer || buffer.byteLength < t.data.byteLength) inputs.set(name, (buffer = new SharedArrayBuffer(t.data.byteLength)));
      new Float32Array(buffer, 0, t.data.length).set(t.data);
      shared[name] = { buffer, length: t.data.length, dims: [...t.dims] };
    }
    const id = this.nextId++;
    const { out, ms } = await new Promise<RunReply>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.ref(); // a run in flight keeps the process alive
      this.worker.postMessage({ id, feeds: shared });
    });
    if (timing) timing.ms = ms;
    return Object.fromEntries(Object.entries(out).map(([name, t]) => [name, { data: new Float32Array(t.buffer, t.byteOffset, t.length), dims: t.dims }]));
  }

  private failAll(e: Error): void {
    this.dead ??= e;
    for (const w of this.waiting.values()) w.reject(e);
    this.waiting.clear();
  }
}

const createSession = memoizeAsync((file: string, intraOpThreads: number, _replica: number): Promise<ModelSession> =>
  new Promise<ModelSession>((resolve, reject) => {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      // CommonJS whatever the parent was started with (`--input-type=module`, a loader): the code needs none of it
      execArgv: [],
      workerData: { file, options: sessionOptions(intraOpThreads), ortPath: require.resolve('onnxruntime-node') },
    });
    const fail = (e: unknown) => {
      void worker.terminate();
      reject(new ModelLoadError(`cannot load ONNX model ${file}: ${(e as Error).message ?? e}`, { cause: e }));
    };
    worker.once('error', fail);
    worker.once('message', (m: { ready: boolean; inputNames: string[]; outputNames: string[]; error?: string }) => {
      worker.off('error', fail);
      if (!m.ready) fail(new Error(m.error));
      else resolve(new WorkerSession(worker, m.inputNames, m.outputNames, file));
    });
  }), (file, intraOpThreads, replica) => `${file}#${intraOpThreads}#${replica}`);

export function getSession(file: string, intraOpThreads: number, tuning: SessionTuning = {}): Promise<ModelSession> {
  return createSession(file, intraOpThreads, tuning.replica ?? 0);
}

/** How many sessions this process holds (tests use it to prove reuse). */
export function sessionCount(): number {
  return createSession.size;
}
