/**
 * ONNX Runtime sessions, created once per process and model file and reused by every later call
 * (a warm Lambda container pays no load). Keyed by path and thread count.
 */
import * as ort from 'onnxruntime-node';
import { ModelLoadError } from '../core/errors.js';
import { memoizeAsync } from '../core/memoize.js';

export interface SessionTuning {
  /**
   * onnxruntime's CPU arena keeps the largest activations of any run alive; without it a large
   * segment model (MDX-Net, ~100 MB per activation) peaks at a third of the RSS at the same speed
   * (measured with mdx-arch on 2 threads: 370 MB vs 1060 MB).
   */
  memArena?: boolean;
}

const createSession = memoizeAsync((file: string, intraOpThreads: number, memArena: boolean): Promise<ort.InferenceSession> =>
  ort.InferenceSession.create(file, {
      intraOpNumThreads: intraOpThreads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      // the memory-pattern planner keeps per-shape buffers alive; without it peak RSS drops ~20% at the same speed
      enableMemPattern: false,
      enableCpuMemArena: memArena,
      extra: { session: { intra_op: { allow_spinning: '0' } } },
  }).catch((err: unknown) => {
    throw new ModelLoadError(`cannot load ONNX model ${file}: ${(err as Error).message}`, { cause: err });
  }), (file, intraOpThreads, memArena) => `${file}#${intraOpThreads}#${memArena}`);

export function getSession(file: string, intraOpThreads: number, tuning: SessionTuning = {}): Promise<ort.InferenceSession> {
  return createSession(file, intraOpThreads, tuning.memArena ?? true);
}

/** How many sessions this process holds (tests use it to prove reuse). */
export function sessionCount(): number {
  return createSession.size;
}

export { ort };
