/**
 * The two ways an upload reaches separate: S3 notifications through the upload queue (SQS event,
 * one S3 event per message body) or a direct S3 event. Both become the same deliveries; queue
 * deliveries that fail go back to the queue one by one (partial batch response), a direct event
 * fails as a whole (Lambda's asynchronous retry).
 */
import type { S3Event, S3EventRecord, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { decodeEventKey } from '../storage/s3.js';
import type { Delivery, Outcome, UploadedObject } from './process-upload.js';

export interface UploadDelivery extends Delivery {
  /** The queue message, absent for a direct S3 event. */
  messageId?: string;
  objects: UploadedObject[];
}

export function isQueueEvent(event: S3Event | SQSEvent): event is SQSEvent {
  return event.Records.length > 0 && (event.Records[0] as { eventSource?: string }).eventSource === 'aws:sqs';
}

function objectOf(r: S3EventRecord): UploadedObject {
  return { bucket: r.s3.bucket.name, key: decodeEventKey(r.s3.object.key), etag: r.s3.object.eTag, bytes: r.s3.object.size, eventTime: r.eventTime };
}

/** S3 also sends an `s3:TestEvent` message (no Records) when the notification is configured. */
function createdRecords(body: { Records?: S3EventRecord[] }): S3EventRecord[] {
  return (body.Records ?? []).filter((r) => r.eventName?.startsWith('ObjectCreated'));
}

export function deliveriesOf(event: S3Event | SQSEvent): UploadDelivery[] {
  if (!isQueueEvent(event)) return [{ objects: createdRecords(event).map(objectOf) }];
  return event.Records.map((m) => ({
    messageId: m.messageId,
    receiveCount: Number(m.attributes.ApproximateReceiveCount) || undefined,
    objects: createdRecords(JSON.parse(m.body)).map(objectOf),
  }));
}

/**
 * Runs `each` on every object of the event. Queue event: a delivery that throws is returned as a
 * batch item failure (it comes back after the visibility timeout, or goes to the dead-letter
 * queue). Direct event: the first error is rethrown.
 */
export async function runDeliveries(
  event: S3Event | SQSEvent,
  each: (obj: UploadedObject, delivery: UploadDelivery) => Promise<Outcome>,
  onReturned: (delivery: UploadDelivery, err: unknown) => void,
): Promise<SQSBatchResponse | Outcome[]> {
  const outcomes: Outcome[] = [];
  const failures: SQSBatchResponse['batchItemFailures'] = [];
  for (const delivery of deliveriesOf(event)) {
    try {
      for (const obj of delivery.objects) outcomes.push(await each(obj, delivery));
    } catch (err) {
      if (delivery.messageId === undefined) throw err;
      onReturned(delivery, err);
      failures.push({ itemIdentifier: delivery.messageId });
    }
  }
  return isQueueEvent(event) ? { batchItemFailures: failures } : outcomes;
}
