/**
 * Delivers S3 event records to the separate handler as Lambda's asynchronous invocation does:
 * at most `concurrency` at a time, and a failed invocation retried (twice by default, with a
 * delay), then dropped with a log line.
 */
import type { S3Event, S3EventRecord } from 'aws-lambda';

export type EventHandler = (event: S3Event) => Promise<unknown>;

export class EventDispatcher {
  private readonly queue: { record: S3EventRecord; attempt: number }[] = [];
  private active = 0;
  private waiters: (() => void)[] = [];
  readonly failures: { key: string; error: string }[] = [];

  constructor(private readonly handler: EventHandler, private readonly opts: { concurrency: number; retries: number; retryDelayMs: number }) {}

  push(record: S3EventRecord): void {
    this.queue.push({ record, attempt: 0 });
    this.pump();
  }

  /** Resolves when nothing is queued, running or waiting to be retried. */
  idle(): Promise<void> {
    if (this.active === 0 && this.queue.length === 0 && this.pendingRetries === 0) return Promise.resolve();
    return new Promise((r) => this.waiters.push(r));
  }

  private pendingRetries = 0;

  private pump(): void {
    while (this.active < this.opts.concurrency && this.queue.length > 0) {
      const item = this.queue.shift()!;
      this.active++;
      this.handler({ Records: [item.record] })
        .catch((err: Error) => {
          if (item.attempt < this.opts.retries) {
            this.pendingRetries++;
            setTimeout(() => {
              this.pendingRetries--;
              this.queue.push({ record: item.record, attempt: item.attempt + 1 });
              this.pump();
            }, this.opts.retryDelayMs);
          } else {
            this.failures.push({ key: item.record.s3.object.key, error: err.message });
            console.error(`separate: giving up on ${item.record.s3.object.key} after ${item.attempt + 1} attempts: ${err.message}`);
          }
        })
        .finally(() => {
          this.active--;
          this.pump();
          if (this.active === 0 && this.queue.length === 0 && this.pendingRetries === 0) {
            for (const w of this.waiters.splice(0)) w();
          }
        });
    }
  }
}
