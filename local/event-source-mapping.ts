/**
 * Lambda's SQS event source mapping, locally: pollers receive from a queue (batch size 1 by
 * default) and invoke the function, never more than `maxConcurrency` at once. A message is deleted
 * when the invocation succeeds and does not list it in `batchItemFailures`; when the invocation
 * throws or times out, or lists it, it stays and comes back after the visibility timeout (or goes
 * to the dead-letter queue).
 */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { LocalQueue } from './sqs-queue.js';

export type QueueFunction = (event: SQSEvent) => Promise<unknown>;

export interface EventSourceMappingOptions {
  queue: LocalQueue;
  invoke: QueueFunction;
  maxConcurrency: number;
  /** @default 1 */
  batchSize?: number;
}

export class EventSourceMapping {
  /** Invocations running now, the most ever at once, and how the invocations ended. */
  readonly stats = { active: 0, maxActive: 0, invocations: 0, succeeded: 0, itemFailures: 0, errors: 0 };
  private stopped = false;
  private readonly pollers: Promise<void>[];

  constructor(private readonly opts: EventSourceMappingOptions) {
    this.pollers = Array.from({ length: opts.maxConcurrency }, () => this.poll());
  }

  /** Stops polling (close the queue too, to wake pollers waiting on it); resolves when running invocations ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.pollers);
  }

  private async poll(): Promise<void> {
    const { queue } = this.opts;
    for (;;) {
      await queue.whenVisible();
      if (this.stopped || queue.closed) return;
      const records = queue.receive(this.opts.batchSize ?? 1);
      if (records.length === 0) continue;
      const s = this.stats;
      s.active++;
      s.invocations++;
      s.maxActive = Math.max(s.maxActive, s.active);
      try {
        const response = await this.opts.invoke({ Records: records });
        const failed = new Set(((response ?? {}) as Partial<SQSBatchResponse>).batchItemFailures?.map((f) => f.itemIdentifier) ?? []);
        // an identifier that names no message of the batch fails the whole batch, as in Lambda
        if ([...failed].some((id) => !records.some((r) => r.messageId === id))) throw new Error('batchItemFailures names an unknown message');
        for (const r of records) if (!failed.has(r.messageId)) queue.delete(r.receiptHandle);
        s.itemFailures += failed.size;
        if (failed.size === 0) s.succeeded++;
      } catch {
        s.errors++; // the whole batch stays in the queue
      } finally {
        s.active--;
      }
    }
  }
}
