/**
 * Process-lifetime caching of async work (ONNX sessions, loaded models, manifests): the first call
 * per key starts the work, later calls share its promise; a failure is not kept, so the next call
 * tries again.
 */
export interface MemoizedAsync<A extends unknown[], T> {
  (...args: A): Promise<T>;
  /** How many keys are cached (tests use it to prove reuse). */
  readonly size: number;
}

export function memoizeAsync<A extends unknown[], T>(fn: (...args: A) => Promise<T>, keyOf: (...args: A) => string): MemoizedAsync<A, T> {
  const cache = new Map<string, Promise<T>>();
  const memoized = (...args: A): Promise<T> => {
    const key = keyOf(...args);
    let p = cache.get(key);
    if (!p) {
      p = fn(...args);
      cache.set(key, p);
      p.catch(() => cache.delete(key));
    }
    return p;
  };
  return Object.defineProperty(memoized, 'size', { get: () => cache.size }) as MemoizedAsync<A, T>;
}
