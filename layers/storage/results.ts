/**
 * Results in S3: each stem as its own object, and a zip of them (plus manifest.json) that
 * archiver streams straight into a multipart upload — no zip on disk, no zip in memory.
 */
import { DeleteObjectsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { ZipArchive } from 'archiver';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { OUTPUT_FORMATS, type OutputFormat } from '../audio/encode.js';

export interface LocalStem { stem: string; file: string }

/** Each stem through lib-storage: parts are buffered, so the SDK can retry any of them. */
export async function putStems(s3: S3Client, bucket: string, stems: LocalStem[], keyFor: (stem: string) => string, format: OutputFormat) {
  const out: { stem: string; key: string; bytes: number }[] = [];
  for (const s of stems) {
    const { size } = await stat(s.file);
    const key = keyFor(s.stem);
    await new Upload({
      client: s3,
      params: { Bucket: bucket, Key: key, Body: createReadStream(s.file), ContentType: OUTPUT_FORMATS[format].contentType },
      partSize: PART_SIZE,
      queueSize: 2,
    }).done();
    out.push({ stem: s.stem, key, bytes: size });
  }
  return out;
}

const PART_SIZE = 8 * 1024 * 1024;

export async function putZip(s3: S3Client, bucket: string, key: string, stems: LocalStem[], manifest: object): Promise<void> {
  const archive = new ZipArchive({ store: true }); // audio does not deflate; storing keeps CPU for separation
  const body = new PassThrough();
  archive.pipe(body);
  const upload = new Upload({
    client: s3,
    params: { Bucket: bucket, Key: key, Body: body, ContentType: 'application/zip' },
    partSize: PART_SIZE,
    queueSize: 2,
  });
  const failed = new Promise<never>((_, reject) => archive.on('error', reject));
  for (const s of stems) archive.file(s.file, { name: path.basename(s.file) });
  archive.append(JSON.stringify(manifest, null, 2), { name: 'manifest.json' });
  void archive.finalize();
  await Promise.race([upload.done(), failed]);
}

/** Removes everything under a prefix (partial results of a failed job). */
export async function deletePrefix(s3: S3Client, bucket: string, prefix: string): Promise<void> {
  for (;;) {
    const list = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
    const keys = (list.Contents ?? []).map((o) => ({ Key: o.Key! }));
    if (keys.length === 0) return;
    await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
    if (!list.IsTruncated) return;
  }
}
