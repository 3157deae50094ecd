/**
 * A real S3-compatible server on loopback (s3rver), with what local mode needs on top: the
 * bucket and its CORS rules for the upload page, and conditional PUTs (If-None-Match: * and
 * If-Match), which S3 enforces and s3rver ignores — the job store's exactly-once claims rely on
 * them.
 */
import type { S3EventRecord } from 'aws-lambda';
import type { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import S3rver from 's3rver';

export interface LocalS3 {
  endpoint: string;
  /** S3 event notifications (s3rver emits them with raw, unencoded keys). */
  onEvent(listener: (event: { Records: S3EventRecord[] }) => void): void;
  close(): Promise<void>;
}

function corsXml(origins: string[]): string {
  const rules = origins.map((o) => `<CORSRule><AllowedOrigin>${o}</AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedMethod>POST</AllowedMethod><AllowedMethod>PUT</AllowedMethod><AllowedMethod>HEAD</AllowedMethod><AllowedHeader>*</AllowedHeader><ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>3000</MaxAgeSeconds></CORSRule>`);
  return `<CORSConfiguration>${rules.join('')}</CORSConfiguration>`;
}

type KoaCtx = { method: string; path: string; query: Record<string, unknown>; get(h: string): string; status: number; body: unknown };
type Store = { existsObject(b: string, k: string): Promise<boolean>; getMetadata(b: string, k: string): Promise<{ etag: string }> };

/** Serialises whole-object PUTs per key and checks their preconditions as S3 does. */
function conditionalPuts(store: Store) {
  const locks = new Map<string, Promise<void>>();
  return async (ctx: KoaCtx, next: () => Promise<void>) => {
    const ifNoneMatch = ctx.get('if-none-match');
    const ifMatch = ctx.get('if-match');
    if (ctx.method !== 'PUT' || (!ifNoneMatch && !ifMatch) || 'uploadId' in ctx.query) return next();
    const [bucket, ...rest] = ctx.path.slice(1).split('/');
    const key = decodeURIComponent(rest.join('/'));
    const id = `${bucket}/${key}`;
    const previous = locks.get(id) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => { release = r; });
    const chained = previous.then(() => mine);
    locks.set(id, chained);
    await previous;
    try {
      const exists = await store.existsObject(bucket, key);
      const etag = exists ? (await store.getMetadata(bucket, key)).etag : undefined;
      const strip = (e: string) => e.replace(/^W\//, '').replace(/"/g, '');
      const failed = (ifNoneMatch === '*' && exists) || (ifMatch !== '' && (!etag || strip(ifMatch) !== strip(etag)));
      if (failed) {
        ctx.status = 412;
        ctx.body = { Error: { Code: 'PreconditionFailed', Message: 'At least one of the pre-conditions you specified did not hold', Condition: ifNoneMatch ? 'If-None-Match' : 'If-Match' } };
        return;
      }
      await next();
    } finally {
      release();
      if (locks.get(id) === chained) locks.delete(id);
    }
  };
}

export async function startLocalS3(opts: { directory: string; bucket: string; port?: number; corsOrigins: string[] }): Promise<LocalS3> {
  const server = new S3rver({
    address: '127.0.0.1',
    port: opts.port ?? 0,
    silent: true,
    directory: opts.directory,
    configureBuckets: [{ name: opts.bucket, configs: [corsXml(opts.corsOrigins)] }],
  });
  const mw = (server as unknown as { middleware: unknown[] }).middleware;
  // before the router (last), after the XML encoder, so our 412 body is encoded like s3rver's own errors
  mw.splice(mw.length - 1, 0, conditionalPuts((server as unknown as { store: Store }).store));
  const address = (await server.run()) as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    onEvent: (listener) => void (server as unknown as EventEmitter).on('event', listener),
    close: () => server.close(),
  };
}
