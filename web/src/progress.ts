/**
 * One progress bar for the whole job. The upload and each server stage (which report their own
 * 0..1 fraction) get a span of the bar; the bar never moves back, even when a stage starts again
 * at 0 or a retry restarts the job. Also the time left, from the model's measured speed until
 * the job's own pace can be measured.
 */

/** Where each stage sits on the bar: [start, end]. Separation is most of the work. */
export const STAGE_SPANS: Record<string, [number, number]> = {
  uploading: [0, 0.2],
  waiting: [0.2, 0.2],
  probe: [0.2, 0.24],
  decode: [0.24, 0.27],
  separate: [0.27, 0.9],
  encode: [0.9, 0.93],
  package: [0.93, 0.95],
  upload: [0.95, 0.99],
  done: [1, 1],
};

export const STAGE_NAMES: Record<string, string> = {
  uploading: 'Uploading', waiting: 'Waiting for a worker', retrying: 'Retrying', probe: 'Reading the file', decode: 'Decoding',
  separate: 'Separating', encode: 'Encoding', package: 'Packaging', upload: 'Saving the stems', done: 'Done',
};

/** The bar's position for a stage and its own fraction (unknown stages sit where the server part starts). */
export function overallFraction(stage: string, fraction: number): number {
  const [a, b] = STAGE_SPANS[stage] ?? STAGE_SPANS.waiting;
  return a + Math.min(1, Math.max(0, fraction)) * (b - a);
}

export class JobProgress {
  /** Highest position shown so far. */
  value = 0;
  stage = 'uploading';
  private readonly startedAt: number;
  private serverStartedAt: number | undefined;

  /**
   * @param audioSeconds the song's length, when the browser could tell
   * @param speed the model's measured speed (times real time), when known
   */
  constructor(private readonly audioSeconds: number | undefined, private readonly speed: number | undefined, now = Date.now()) {
    this.startedAt = now;
  }

  /** Records a report; returns the (monotonic) bar position. */
  update(stage: string, fraction: number, now = Date.now()): number {
    if (stage !== 'uploading' && this.serverStartedAt === undefined) this.serverStartedAt = now;
    this.stage = stage;
    this.value = Math.max(this.value, overallFraction(stage, fraction));
    return this.value;
  }

  elapsedSeconds(now = Date.now()): number {
    return (now - this.startedAt) / 1000;
  }

  /**
   * Seconds left: from the pace measured so far once a good part of the server's work is done,
   * before that from the model's speed (plus a few seconds for reading and saving).
   */
  remainingSeconds(now = Date.now()): number | undefined {
    if (this.value >= 1) return 0;
    const serverStart = STAGE_SPANS.waiting[1];
    const prior = this.audioSeconds !== undefined && this.speed ? this.audioSeconds / this.speed + 3 : undefined;
    if (this.serverStartedAt === undefined) {
      // uploading: the upload's own pace, then the separation
      const f = this.value / serverStart;
      const uploadLeft = f > 0.05 ? this.elapsedSeconds(now) * (1 - f) / f : undefined;
      return uploadLeft !== undefined && prior !== undefined ? uploadLeft + prior : uploadLeft ?? prior;
    }
    const serverElapsed = (now - this.serverStartedAt) / 1000;
    const done = (this.value - serverStart) / (1 - serverStart);
    if (done >= 0.15) return serverElapsed * (1 - done) / done;
    return prior !== undefined ? Math.max(1, prior - serverElapsed) : undefined;
  }
}

/** 0:07, 1:05, 12:30 */
export function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}
