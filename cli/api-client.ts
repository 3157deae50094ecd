/**
 * A client of the HTTP API that behaves like the browser page: create a job, POST the file to
 * the presigned form, poll the status, download and unpack the zip. Works against the local stack
 * and a deployed one.
 */
import { createWriteStream, openAsBlob } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import yauzl from 'yauzl';
import { ENV, readOptional } from '../layers/core/env.js';
import { fetchUrl } from '../layers/core/fetch-url.js';
import { contentTypeForName, jobStatusPath, ROUTES, type ApiErrorBody, type CreateJobRequest, type CreateJobResponse, type JobOptionsRequest, type JobStatusResponse as JobStatus } from '../layers/contracts/index.js';

export function contentTypeFor(file: string): string {
  return contentTypeForName(file) ?? 'application/octet-stream';
}

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

/** The API's JSON answer; an answer that is not the API's (a wrong --api) says so, with the URL. */
async function asJson<T>(res: Response, what: string): Promise<T> {
  const text = await res.text();
  let body: Partial<ApiErrorBody> | undefined;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (res.ok && body) return body as T;
  if (body?.error) throw new ApiError(res.status, body.error.code, `${what}: ${body.error.message}`);
  throw new ApiError(res.status, 'NOT_THE_API', `${what} answered HTTP ${res.status}${body ? '' : ' with no JSON'}: is --api the Stem Splitter API's URL (e.g. the ApiUrl output, or http://127.0.0.1:3000 for npm start)?`);
}

/** A bearer token for deployments with authMode jwt/cognito (STEMS_API_TOKEN); none in anonymous mode. */
function authHeaders(): Record<string, string> {
  const token = readOptional(ENV.apiToken);
  return token ? { authorization: `Bearer ${token}` } : {};
}

export async function createJob(api: string, file: string, options: JobOptionsRequest = {}): Promise<CreateJobResponse> {
  const { size } = await stat(file);
  const request: CreateJobRequest = { filename: path.basename(file), contentType: contentTypeFor(file), bytes: size, options };
  const url = new URL(ROUTES.createJob.path, api);
  const res = await fetchUrl(url, {
    method: ROUTES.createJob.method,
    headers: { 'content-type': 'application/json', ...authHeaders() },
    body: JSON.stringify(request),
  });
  return asJson<CreateJobResponse>(res, `POST ${url}`);
}

/** POSTs the file to S3 with the presigned form fields (the file goes last, as S3 requires). */
export async function uploadFile(upload: CreateJobResponse['upload'], file: string): Promise<void> {
  const form = new FormData();
  for (const [k, v] of Object.entries(upload.fields)) form.append(k, v);
  form.append('file', await openAsBlob(file), path.basename(file));
  const res = await fetchUrl(upload.url, { method: 'POST', body: form });
  if (!res.ok) throw new ApiError(res.status, 'UPLOAD_FAILED', `upload failed: HTTP ${res.status} ${(await res.text()).slice(0, 300)}`);
}

export async function getStatus(api: string, jobId: string): Promise<JobStatus> {
  const url = new URL(jobStatusPath(jobId), api);
  return asJson<JobStatus>(await fetchUrl(url, { headers: authHeaders() }), `GET ${url}`);
}

export async function waitForJob(api: string, jobId: string, opts: { intervalMs?: number; timeoutMs?: number; onStatus?: (s: JobStatus) => void } = {}): Promise<JobStatus> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30 * 60_000);
  for (;;) {
    const s = await getStatus(api, jobId);
    opts.onStatus?.(s);
    if (s.state === 'done' || s.state === 'failed') return s;
    if (Date.now() > deadline) throw new ApiError(408, 'TIMEOUT', `job ${jobId} still ${s.state} after waiting`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 1000));
  }
}

/** Downloads a URL to a file, streamed. */
export async function download(url: string, dest: string): Promise<void> {
  const res = await fetchUrl(url);
  if (!res.ok || !res.body) throw new ApiError(res.status, 'DOWNLOAD_FAILED', `download failed: HTTP ${res.status}`);
  await pipeline(Readable.fromWeb(res.body as never), createWriteStream(dest));
}

/** Unpacks a zip into a folder; refuses entries that would escape it. Returns the file names. */
export function unzip(zipFile: string, dir: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    yauzl.open(zipFile, { lazyEntries: true }, (err, zip) => {
      if (err || !zip) return reject(err);
      const names: string[] = [];
      zip.on('error', reject);
      zip.on('end', () => resolve(names));
      zip.on('entry', (entry: yauzl.Entry) => {
        const target = path.resolve(dir, entry.fileName);
        if (!target.startsWith(path.resolve(dir) + path.sep) || entry.fileName.endsWith('/')) return zip.readEntry();
        zip.openReadStream(entry, async (e, stream) => {
          if (e || !stream) return reject(e);
          try {
            await mkdir(path.dirname(target), { recursive: true });
            await pipeline(stream, createWriteStream(target));
            names.push(entry.fileName);
            zip.readEntry();
          } catch (pe) {
            reject(pe);
          }
        });
      });
      zip.readEntry();
    });
  });
}
