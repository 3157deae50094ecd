/** The HTTP API as the page uses it: config, create job, presigned upload with progress, status. */
import {
  jobStatusPath, ROUTES, type ApiErrorBody, type CreateJobRequest, type CreateJobResponse, type JobOptionsRequest,
  type JobStatusResponse, type PageConfig, type PresignedUpload,
} from '../../layers/contracts/index.js';

export type { PageConfig, PageModel, StemDownload } from '../../layers/contracts/index.js';
export type JobStatus = JobStatusResponse;
export type Upload = PresignedUpload;
/** What the page sends as a job's options (kept to retry an expired upload form with the same choice). */
export type JobOptions = JobOptionsRequest;

export class ApiError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

export async function loadConfig(): Promise<PageConfig> {
  const res = await fetch('config.json', { cache: 'no-store' });
  if (!res.ok) throw new ApiError('CONFIG', `could not load the page configuration (HTTP ${res.status})`);
  return res.json();
}

async function json<T>(res: Response): Promise<T> {
  const body = await res.json().catch(() => ({}));
  const err = (body as Partial<ApiErrorBody>).error;
  if (!res.ok) throw new ApiError(err?.code ?? 'HTTP', err?.message ?? `request failed (HTTP ${res.status})`);
  return body as T;
}

export async function createJob(api: string, file: File, contentType: string, options: JobOptionsRequest): Promise<CreateJobResponse> {
  const request: CreateJobRequest = { filename: file.name, contentType, bytes: file.size, options };
  return json<CreateJobResponse>(await fetch(`${api}${ROUTES.createJob.path}`, {
    method: ROUTES.createJob.method,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(request),
  }));
}

export async function getStatus(api: string, id: string): Promise<JobStatus> {
  return json<JobStatus>(await fetch(`${api}${jobStatusPath(id)}`, { cache: 'no-store' }));
}

/** POSTs the file to S3 with the presigned form; reports progress; rejects with NETWORK on loss. */
export function upload(target: Upload, file: File, contentType: string, onProgress: (fraction: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const [k, v] of Object.entries(target.fields)) form.append(k, v);
    form.append('file', new Blob([file], { type: contentType }), file.name);
    const xhr = new XMLHttpRequest();
    xhr.open('POST', target.url);
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onload = () => (xhr.status < 300 ? resolve() : reject(new ApiError('UPLOAD', `the upload was refused (HTTP ${xhr.status})`)));
    xhr.onerror = () => reject(new ApiError('NETWORK', 'the connection was lost during the upload'));
    xhr.send(form);
  });
}
