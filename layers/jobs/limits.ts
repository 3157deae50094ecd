/**
 * Will this job fit the function it runs in? Projects processing time from the song's length and
 * the model's measured speed (its manifest's realtimePerCore times the cores it runs on; a
 * conservative global factor for models with no measurement), and memory from the model's size, and refuses a job that would
 * time out or run out of memory — with a message saying why — instead of letting Lambda kill it.
 */
import type { SourceInfo } from '../audio/probe.js';
import { ExceedsLimitsError } from '../core/errors.js';

export interface RuntimeLimits {
  /** Milliseconds left before the function is stopped (Lambda: context.getRemainingTimeInMillis()). */
  remainingMs?: number;
  /** The function's memory in MB (Lambda: AWS_LAMBDA_FUNCTION_MEMORY_SIZE). */
  memoryMb?: number;
  /** Audio seconds processed per second, at the slowest we expect (measured: 35x on 2 vCPUs). */
  minRealTimeFactor: number;
  /** Seconds a job needs besides separating: download, model load, upload of results. */
  jobOverheadSeconds: number;
  /** Model files, MB (onnxruntime holds them plus working buffers). */
  modelMb: number;
  /** The model's measured speed, audio seconds per second per core (heavy models are far slower than Spleeter). */
  realtimePerCore?: number;
  /** Cores the model runs on (onnxruntime threads). */
  cores?: number;
  /** The model's measured peak memory, MB (its manifest's peakMemoryMb: large activations, as Demucs'). */
  modelPeakMb?: number;
}

/** Fixed costs: process, onnxruntime arena, ffmpeg children, split buffers (measured ~560 MB peak with a 78 MB model). */
const BASE_MB = 320;
const PER_MODEL_MB = 3;

export function projectJob(source: SourceInfo, l: RuntimeLimits): { seconds: number; memoryMb: number } {
  const audio = source.durationSeconds ?? source.bytes / 16_000; // unknown length: assume a 128 kbps stream
  const rate = l.realtimePerCore ? l.realtimePerCore * (l.cores ?? 1) : l.minRealTimeFactor;
  return { seconds: l.jobOverheadSeconds + audio / rate, memoryMb: Math.max(BASE_MB + PER_MODEL_MB * l.modelMb, l.modelPeakMb ?? 0) };
}

export function checkLimits(source: SourceInfo, l: RuntimeLimits, name: string): void {
  const p = projectJob(source, l);
  if (l.remainingMs !== undefined && p.seconds * 1000 > l.remainingMs) {
    throw new ExceedsLimitsError(`${name} would need about ${Math.ceil(p.seconds)} s to separate but the function has ${Math.floor(l.remainingMs / 1000)} s left; use a shorter file or raise the function's timeout`);
  }
  if (l.memoryMb !== undefined && p.memoryMb > l.memoryMb) {
    throw new ExceedsLimitsError(`separating with this model needs about ${Math.ceil(p.memoryMb)} MB but the function has ${l.memoryMb} MB; raise its memory`);
  }
}
