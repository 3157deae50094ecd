/**
 * A real S3-compatible server on loopback (s3rver), with what local mode needs on top: the
 * bucket and its CORS rules for the upload page, and two S3 guarantees that s3rver lacks and the
 * job store relies on: conditional PUTs (If-None-Match: * and If-Match) and atomic object
 * replacement (a reader sees the old object or the new one, never a half-written file).
 */
import type { S3EventRecord } from 'aws-lambda';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import S3rver from 's3rver';
import { S3Client } from '@aws-sdk/client-s3';

/**
 * What an SDK client needs to talk to this server, as environment (for the functions, which read
 * it like any AWS configuration): s3rver's fixed credentials, and checksums only where S3 requires
 * them, because s3rver does not decode the SDK's default aws-chunked streaming checksums.
 */
export const LOCAL_S3_CLIENT_ENV = {
  AWS_ACCESS_KEY_ID: 'S3RVER',
  AWS_SECRET_ACCESS_KEY: 'S3RVER',
  AWS_REGION: 'us-east-1',
  AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
  AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
} as const;

/** The same settings as a client, for tests and tools that talk to the local server directly. */
export function localS3Client(endpoint: string): S3Client {
  return new S3Client({
    region: LOCAL_S3_CLIENT_ENV.AWS_REGION, endpoint, forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED',
    credentials: { accessKeyId: LOCAL_S3_CLIENT_ENV.AWS_ACCESS_KEY_ID, secretAccessKey: LOCAL_S3_CLIENT_ENV.AWS_SECRET_ACCESS_KEY },
  });
}

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
interface StoredObject { bucket: string; key: string; content: Buffer | NodeJS.ReadableStream; metadata: Record<string, string> }
type Store = {
  existsObject(b: string, k: string): Promise<boolean>;
  getMetadata(b: string, k: string): Promise<{ etag: string }>;
  getResourcePath(b: string, k: string, resource: string): string;
  putMetadata(b: string, k: string, metadata: Record<string, string>, md5: string): Promise<void>;
  putObject(o: StoredObject): Promise<{ size: number; md5: string }>;
};

/** s3rver truncates and rewrites in place; write beside the object and rename over it instead. */
function atomicPutObject(store: Store): void {
  store.putObject = async (object) => {
    const target = store.getResourcePath(object.bucket, object.key, 'object');
    await mkdir(path.dirname(target), { recursive: true });
    const tmp = `${target}.${randomBytes(6).toString('hex')}.partial`;
    const md5 = createHash('md5');
    let size = 0;
    const source = Buffer.isBuffer(object.content) ? Readable.from([object.content]) : (object.content as Readable);
    await pipeline(source, new Transform({
      transform(chunk: Buffer, _enc, cb) {
        md5.update(chunk);
        size += chunk.length;
        cb(null, chunk);
      },
    }), createWriteStream(tmp));
    const digest = md5.digest('hex');
    await store.putMetadata(object.bucket, object.key, object.metadata, digest);
    await rename(tmp, target);
    return { size, md5: digest };
  };
}

/**
 * Per-key consistency with a read-write lock: reads of a key run together but wait for a write
 * in progress (S3's read-after-write), writes wait for earlier reads and writes; PUT
 * preconditions are checked under the write lock, as S3 does.
 */
function perKeyConsistency(store: Store) {
  const keys = new Map<string, { write: Promise<void>; reads: Set<Promise<void>> }>();
  const stateOf = (id: string) => {
    let st = keys.get(id);
    if (!st) keys.set(id, (st = { write: Promise.resolve(), reads: new Set() }));
    return st;
  };
  return async (ctx: KoaCtx, next: () => Promise<void>) => {
    const [bucket, ...rest] = ctx.path.slice(1).split('/');
    let key: string;
    try {
      key = decodeURIComponent(rest.join('/'));
    } catch {
      ctx.status = 400;
      ctx.body = { Error: { Code: 'InvalidURI', Message: 'Couldn\'t parse the specified URI.' } };
      return;
    }
    if (key === '' || !['GET', 'HEAD', 'PUT', 'DELETE'].includes(ctx.method) || 'uploadId' in ctx.query) return next();
    const id = `${bucket}/${key}`;
    const st = stateOf(id);
    if (ctx.method === 'GET' || ctx.method === 'HEAD') {
      await st.write;
      let done!: () => void;
      const reading = new Promise<void>((r) => { done = r; });
      st.reads.add(reading);
      try {
        return await next();
      } finally {
        done();
        st.reads.delete(reading);
      }
    }
    const previous = st.write;
    const readers = [...st.reads];
    let release!: () => void;
    const mine = new Promise<void>((r) => { release = r; });
    st.write = mine;
    await previous;
    await Promise.all(readers);
    try {
      const ifNoneMatch = ctx.get('if-none-match');
      const ifMatch = ctx.get('if-match');
      if (ctx.method === 'PUT' && (ifNoneMatch || ifMatch)) {
        const exists = await store.existsObject(bucket, key);
        const etag = exists ? (await store.getMetadata(bucket, key)).etag : undefined;
        const strip = (e: string) => e.replace(/^W\//, '').replace(/"/g, '');
        if (ifMatch !== '' && !exists) {
          // S3: If-Match with no current object under the key fails 404, not 412
          ctx.status = 404;
          ctx.body = { Error: { Code: 'NoSuchKey', Message: 'The specified key does not exist.', Key: key } };
          return;
        }
        if ((ifNoneMatch === '*' && exists) || (ifMatch !== '' && strip(ifMatch) !== strip(etag!))) {
          ctx.status = 412;
          ctx.body = { Error: { Code: 'PreconditionFailed', Message: 'At least one of the pre-conditions you specified did not hold', Condition: ifNoneMatch ? 'If-None-Match' : 'If-Match' } };
          return;
        }
      }
      await next();
    } finally {
      release();
      if (st.write === mine && st.reads.size === 0) keys.delete(id);
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
  const store = (server as unknown as { store: Store }).store;
  atomicPutObject(store);
  const mw = (server as unknown as { middleware: unknown[] }).middleware;
  // before the router (last), after the XML encoder, so our 412 body is encoded like s3rver's own errors
  mw.splice(mw.length - 1, 0, perKeyConsistency(store));
  const address = (await server.run()) as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    onEvent: (listener) => void (server as unknown as EventEmitter).on('event', listener),
    // drop open connections too: a request cut mid-body (fault tests) would hold close() for Node's 300 s request timeout
    close: () => {
      (server as unknown as { httpServer?: { closeAllConnections(): void } }).httpServer?.closeAllConnections();
      return server.close();
    },
  };
}
