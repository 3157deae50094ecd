/** The page's job progress (web/src/progress.ts, no DOM): one bar across stages, and the time left. */
import { describe, expect, it } from 'vitest';
import { clock, JobProgress, overallFraction, STAGE_SPANS } from '../web/src/progress.js';

describe('job progress', () => {
  it('maps each stage onto its own span of one bar, in the order the work happens', () => {
    const order = ['uploading', 'waiting', 'probe', 'decode', 'separate', 'encode', 'package', 'upload', 'done'];
    for (let i = 1; i < order.length; i++) expect(STAGE_SPANS[order[i]][0]).toBeGreaterThanOrEqual(STAGE_SPANS[order[i - 1]][1]);
    expect(overallFraction('separate', 0.5)).toBeCloseTo((0.27 + 0.9) / 2);
    expect(overallFraction('done', 1)).toBe(1);
  });

  it('never moves back: a stage starting at 0 after one that ended near 1, or a retry from the start', () => {
    const p = new JobProgress(60, 20, 0);
    const seen = [['uploading', 1], ['separate', 0.94], ['encode', 1], ['upload', 0], ['probe', 0], ['separate', 0.1], ['upload', 0.5], ['done', 1]]
      .map(([stage, f], i) => p.update(stage as string, f as number, i * 1000));
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1]);
    expect(seen[3]).toBeGreaterThan(seen[1]); // "Saving the stems 0%" sits after "Separating 94%"
    expect(seen.at(-1)).toBe(1);
  });

  it('estimates the time left from the model speed first, then from the pace of the job', () => {
    const p = new JobProgress(120, 24, 0); // 2 minutes at 24x real time: ~5 s of work plus overhead
    p.update('uploading', 1, 2000);
    p.update('probe', 0, 2000);
    expect(p.remainingSeconds(2000)).toBeCloseTo(120 / 24 + 3, 5);
    p.update('separate', 0.5, 6000); // half the server's bar after 4 s: the job's own pace takes over
    const done = (overallFraction('separate', 0.5) - 0.2) / 0.8;
    expect(p.remainingSeconds(6000)).toBeCloseTo((4 * (1 - done)) / done, 5);
    p.update('done', 1, 9000);
    expect(p.remainingSeconds(9000)).toBe(0);
    expect(new JobProgress(undefined, undefined, 0).remainingSeconds(0)).toBeUndefined();
  });

  it('formats clock times', () => {
    expect([clock(0), clock(7.4), clock(65), clock(750)]).toEqual(['0:00', '0:07', '1:05', '12:30']);
  });
});
