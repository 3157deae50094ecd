/** The HTTP API as the page uses it: config, create job, presigned upload with progress, status. */
/** description: one line (stems, quality, speed); speed: measured, times real time. */
export interface ModelInfo { id: string; description: string; stems: string[]; default: boolean; speed?: number }
export interface JobOptions { model: string; stems: string[]; format: string; sampleRate: string }
/** pollIntervalMs: how often the page asks for a job's status (default 1000). */
export interface PageConfig { apiUrl: string; maxUploadBytes: number; maxDurationSeconds: number; models: ModelInfo[]; pollIntervalMs?: number }
export interface Upload { url: string; fields: Record<string, string>; expiresAt: string }
export interface StemDownload { stem: string; url: string; bytes: number; clippedSamples: number }
export interface JobStatus {
  id: string;
  state: 'awaiting-upload' | 'queued' | 'processing' | 'retrying' | 'done' | 'failed';
  file: string;
  progress?: { stage: string; fraction: number };
  error?: { code: string; message: string };
  downloads?: { zip: string; stems: StemDownload[] };
}

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
  if (!res.ok) throw new ApiError(body.error?.code ?? 'HTTP', body.error?.message ?? `request failed (HTTP ${res.status})`);
  return body as T;
}

export async function createJob(api: string, file: File, contentType: string, options: JobOptions) {
  return json<{ jobId: string; upload: Upload }>(await fetch(`${api}/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ filename: file.name, contentType, bytes: file.size, options }),
  }));
}

export async function getStatus(api: string, id: string): Promise<JobStatus> {
  return json<JobStatus>(await fetch(`${api}/jobs/${encodeURIComponent(id)}`, { cache: 'no-store' }));
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
