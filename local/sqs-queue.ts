/**
 * A standard SQS queue in memory, small but faithful to what the project relies on:
 * - receiving hides a message for the visibility timeout and counts the receive; a message that is
 *   not deleted in time becomes visible again (at-least-once delivery);
 * - every receive gets a new receipt handle; deleting with an old one does nothing;
 * - ChangeMessageVisibility on a received message;
 * - dead-letter redrive: a message received maxReceiveCount times moves, on its next receive, to
 *   the dead-letter queue with its id, body and original enqueue time;
 * - retention: messages older than the retention period are dropped (the dead-letter queue keeps
 *   the original enqueue time, as SQS does for standard queues);
 * - duplicates: with `duplicateRate`, a sent message is stored twice (same message id, separate
 *   copies), as SQS's at-least-once delivery may hand out a message again.
 * Not reproduced: FIFO queues, delays, message attributes, batch APIs, long-poll wait times.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { SQSRecord } from 'aws-lambda';
import { mulberry32 } from '../layers/core/seeded-random.js';

export interface LocalQueueOptions {
  name: string;
  visibilityTimeoutSeconds: number;
  /** @default 4 days (SQS's default) */
  retentionSeconds?: number;
  redrive?: { deadLetterQueue: LocalQueue; maxReceiveCount: number };
  /** Probability (0-1) that a sent message is stored twice. @default 0 */
  duplicateRate?: number;
  /** Seeds the duplicate draw, so a run can be repeated. */
  seed?: number;
}

interface Stored {
  messageId: string;
  body: string;
  sentAt: number;
  firstReceivedAt?: number;
  receiveCount: number;
  visibleAt: number;
  receiptHandle?: string;
}

export class LocalQueue {
  readonly arn: string;
  private messages: Stored[] = [];
  private waiters: (() => void)[] = [];
  private timer?: NodeJS.Timeout;
  private random: () => number;
  closed = false;
  /** What happened to this queue's messages: sent (once per send), extra duplicate copies, receives, deletes, redrives to the dead-letter queue, expiries. */
  readonly counters = { sent: 0, duplicated: 0, received: 0, deleted: 0, redriven: 0, expired: 0 };

  constructor(readonly opts: LocalQueueOptions) {
    this.arn = `arn:aws:sqs:us-east-1:000000000000:${opts.name}`;
    this.random = mulberry32(opts.seed ?? 1);
  }

  send(body: string): string {
    const messageId = randomUUID();
    const copies = this.random() < (this.opts.duplicateRate ?? 0) ? 2 : 1;
    for (let i = 0; i < copies; i++) this.store({ messageId, body, sentAt: Date.now(), receiveCount: 0, visibleAt: 0 });
    this.counters.sent++;
    this.counters.duplicated += copies - 1;
    return messageId;
  }

  /** Up to `max` visible messages, each hidden for the visibility timeout from now. */
  receive(max = 1): SQSRecord[] {
    const now = Date.now();
    this.dropExpired(now);
    const out: SQSRecord[] = [];
    for (const m of [...this.messages]) {
      if (out.length >= max) break;
      if (m.visibleAt > now) continue;
      const redrive = this.opts.redrive;
      if (redrive && m.receiveCount >= redrive.maxReceiveCount) {
        this.remove(m);
        redrive.deadLetterQueue.store({ messageId: m.messageId, body: m.body, sentAt: m.sentAt, receiveCount: 0, visibleAt: 0 });
        this.counters.redriven++;
        continue;
      }
      m.receiveCount++;
      m.firstReceivedAt ??= now;
      m.visibleAt = now + this.opts.visibilityTimeoutSeconds * 1000;
      m.receiptHandle = randomUUID();
      this.counters.received++;
      out.push(this.record(m));
    }
    this.schedule();
    return out;
  }

  /** Deletes the message received with this handle; a stale handle (the message was received again since) does nothing. */
  delete(receiptHandle: string): boolean {
    const m = this.messages.find((x) => x.receiptHandle === receiptHandle);
    if (!m) return false;
    this.remove(m);
    this.counters.deleted++;
    return true;
  }

  changeVisibility(receiptHandle: string, seconds: number): boolean {
    const m = this.messages.find((x) => x.receiptHandle === receiptHandle && x.visibleAt > Date.now());
    if (!m) return false;
    m.visibleAt = Date.now() + seconds * 1000;
    this.schedule();
    return true;
  }

  /** ApproximateNumberOfMessages (visible) and ApproximateNumberOfMessagesNotVisible (in flight). */
  depth(): { visible: number; inFlight: number } {
    const now = Date.now();
    const visible = this.messages.filter((m) => m.visibleAt <= now).length;
    return { visible, inFlight: this.messages.length - visible };
  }

  /** Bodies of every message held (visible or not), oldest first. */
  peekBodies(): string[] {
    return this.messages.map((m) => m.body);
  }

  /** Resolves as soon as a message is visible (or the queue is closed). */
  whenVisible(): Promise<void> {
    if (this.closed || this.messages.some((m) => m.visibleAt <= Date.now())) return Promise.resolve();
    return new Promise((r) => {
      this.waiters.push(r);
      this.schedule();
    });
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    for (const w of this.waiters.splice(0)) w();
  }

  private store(m: Stored): void {
    this.messages.push(m);
    this.schedule();
  }

  private remove(m: Stored): void {
    this.messages.splice(this.messages.indexOf(m), 1);
  }

  private dropExpired(now: number): void {
    const limit = (this.opts.retentionSeconds ?? 4 * 86_400) * 1000;
    const before = this.messages.length;
    this.messages = this.messages.filter((m) => now - m.sentAt < limit);
    this.counters.expired += before - this.messages.length;
  }

  /** Wakes waiters now if something is visible, else when the next hidden message reappears. */
  private schedule(): void {
    clearTimeout(this.timer);
    if (this.closed) return;
    const now = Date.now();
    if (this.messages.some((m) => m.visibleAt <= now)) {
      for (const w of this.waiters.splice(0)) w();
      return;
    }
    if (this.messages.length === 0 || this.waiters.length === 0) return;
    const next = Math.min(...this.messages.map((m) => m.visibleAt));
    this.timer = setTimeout(() => this.schedule(), Math.max(1, next - now));
  }

  private record(m: Stored): SQSRecord {
    return {
      messageId: m.messageId,
      receiptHandle: m.receiptHandle!,
      body: m.body,
      attributes: {
        ApproximateReceiveCount: String(m.receiveCount),
        SentTimestamp: String(m.sentAt),
        SenderId: 'local',
        ApproximateFirstReceiveTimestamp: String(m.firstReceivedAt),
      },
      messageAttributes: {},
      md5OfBody: createHash('md5').update(m.body).digest('hex'),
      eventSource: 'aws:sqs',
      eventSourceARN: this.arn,
      awsRegion: 'us-east-1',
    };
  }
}
