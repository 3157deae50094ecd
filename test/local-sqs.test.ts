/**
 * The local SQS emulation against the SQS behaviours the job lifecycle relies on (see
 * docs/reliability.md › The local queue emulation), with sub-second visibility timeouts.
 */
import type { SQSEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { EventSourceMapping } from '../local/event-source-mapping.js';
import { LocalQueue } from '../local/sqs-queue.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('LocalQueue', () => {
  it('hides a received message for the visibility timeout, then delivers it again with a higher receive count', async () => {
    const q = new LocalQueue({ name: 'q', visibilityTimeoutSeconds: 0.15 });
    const id = q.send('hello');
    const [first] = q.receive();
    expect(first).toMatchObject({ messageId: id, body: 'hello', attributes: { ApproximateReceiveCount: '1' }, eventSource: 'aws:sqs' });
    expect(q.receive()).toEqual([]);
    expect(q.depth()).toEqual({ visible: 0, inFlight: 1 });
    await sleep(170);
    const [second] = q.receive();
    expect(second).toMatchObject({ messageId: id, attributes: { ApproximateReceiveCount: '2', ApproximateFirstReceiveTimestamp: first.attributes.ApproximateFirstReceiveTimestamp } });
    expect(second.receiptHandle).not.toBe(first.receiptHandle);
    // the first receipt handle is stale: deleting with it leaves the message
    expect(q.delete(first.receiptHandle)).toBe(false);
    expect(q.delete(second.receiptHandle)).toBe(true);
    expect(q.depth()).toEqual({ visible: 0, inFlight: 0 });
  });

  it('moves a message to the dead-letter queue on the receive after maxReceiveCount, keeping id, body and enqueue time', async () => {
    const dlq = new LocalQueue({ name: 'dlq', visibilityTimeoutSeconds: 1 });
    const q = new LocalQueue({ name: 'q', visibilityTimeoutSeconds: 0.05, redrive: { deadLetterQueue: dlq, maxReceiveCount: 2 } });
    const id = q.send('poison');
    const sent = Number(q.receive()[0].attributes.SentTimestamp);
    await sleep(70);
    expect(q.receive()[0].attributes.ApproximateReceiveCount).toBe('2');
    await sleep(70);
    expect(q.receive()).toEqual([]); // third receive: redriven instead of delivered
    const [dead] = dlq.receive();
    expect(dead).toMatchObject({ messageId: id, body: 'poison' });
    expect(Number(dead.attributes.SentTimestamp)).toBe(sent);
    expect(q.counters.redriven).toBe(1);
  });

  it('changes the visibility of a received message', async () => {
    const q = new LocalQueue({ name: 'q', visibilityTimeoutSeconds: 10 });
    q.send('x');
    const [m] = q.receive();
    expect(q.changeVisibility(m.receiptHandle, 0.05)).toBe(true);
    await sleep(70);
    expect(q.receive()).toHaveLength(1);
  });

  it('delivers duplicates: with duplicateRate 1 every message is stored twice under one id', () => {
    const q = new LocalQueue({ name: 'q', visibilityTimeoutSeconds: 10, duplicateRate: 1 });
    const id = q.send('twice');
    const got = q.receive(10);
    expect(got.map((m) => m.messageId)).toEqual([id, id]);
    expect(q.counters).toMatchObject({ sent: 1, duplicated: 1 });
  });

  it('drops messages older than the retention period', async () => {
    const q = new LocalQueue({ name: 'q', visibilityTimeoutSeconds: 1, retentionSeconds: 0.05 });
    q.send('old');
    await sleep(70);
    expect(q.receive()).toEqual([]);
    expect(q.counters.expired).toBe(1);
  });
});

describe('EventSourceMapping', () => {
  it('never runs more than maxConcurrency invocations, deletes what succeeded and keeps batch item failures', async () => {
    const q = new LocalQueue({ name: 'q', visibilityTimeoutSeconds: 0.1 });
    let running = 0;
    let most = 0;
    const seen = new Map<string, number>();
    const esm = new EventSourceMapping({
      queue: q, maxConcurrency: 3,
      invoke: async (event: SQSEvent) => {
        running++;
        most = Math.max(most, running);
        await sleep(10);
        running--;
        const m = event.Records[0];
        seen.set(m.body, (seen.get(m.body) ?? 0) + 1);
        // 'flaky' fails its first delivery as a partial batch response, 'crash' its first by throwing
        if (m.attributes.ApproximateReceiveCount === '1' && m.body === 'flaky') return { batchItemFailures: [{ itemIdentifier: m.messageId }] };
        if (m.attributes.ApproximateReceiveCount === '1' && m.body === 'crash') throw new Error('crash');
        return { batchItemFailures: [] };
      },
    });
    for (let i = 0; i < 20; i++) q.send(`m${i}`);
    q.send('flaky');
    q.send('crash');
    while (q.depth().visible + q.depth().inFlight > 0) await sleep(10);
    const stopped = esm.stop();
    q.close();
    await stopped;
    expect(most).toBe(3);
    expect(esm.stats.maxActive).toBe(3);
    expect(seen.get('flaky')).toBe(2);
    expect(seen.get('crash')).toBe(2);
    expect([...seen.entries()].filter(([k]) => k.startsWith('m')).every(([, n]) => n === 1)).toBe(true);
    expect(esm.stats).toMatchObject({ invocations: 24, itemFailures: 1, errors: 1 });
  });
});
