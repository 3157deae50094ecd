/**
 * ONNX Runtime sessions, created once per process and model file and reused by every later call
 * (a warm Lambda container pays no load). Keyed by path and thread count.
 */
import * as ort from 'onnxruntime-node';
import { ModelLoadError } from '../core/errors.js';
import { memoizeAsync } from '../core/memoize.js';

export const getSession = memoizeAsync((file: string, intraOpThreads: number): Promise<ort.InferenceSession> =>
  ort.InferenceSession.create(file, {
      intraOpNumThreads: intraOpThreads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      // the memory-pattern planner keeps per-shape buffers alive; without it peak RSS drops ~20% at the same speed
      enableMemPattern: false,
      extra: { session: { intra_op: { allow_spinning: '0' } } },
  }).catch((err: unknown) => {
    throw new ModelLoadError(`cannot load ONNX model ${file}: ${(err as Error).message}`, { cause: err });
  }), (file, intraOpThreads) => `${file}#${intraOpThreads}`);

/** How many sessions this process holds (tests use it to prove reuse). */
export function sessionCount(): number {
  return getSession.size;
}

export { ort };
