/**
 * Downloads the pinned static ffmpeg and ffprobe (infra/image/ffmpeg-release.json) for one CPU
 * architecture into a folder, checking each against its SHA-256 before it becomes executable.
 * Runs in the image build (where there is internet), never at npm install or at run time.
 *
 *   tsx infra/image/fetch-ffmpeg.ts --arch x64|arm64 --out /opt/bin
 */
import { createHash } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface FfmpegRelease {
  version: string;
  ffmpegVersion: string;
  urlTemplate: string;
  sha256: Record<string, Record<'ffmpeg' | 'ffprobe', string>>;
}

export const RELEASE_FILE = path.join(import.meta.dirname, 'ffmpeg-release.json');

export async function readRelease(file = RELEASE_FILE): Promise<FfmpegRelease> {
  return JSON.parse(await readFile(file, 'utf8')) as FfmpegRelease;
}

/** Docker's TARGETARCH (amd64, arm64) or Node's (x64, arm64) to the release's names. */
export function releaseArch(arch: string): string {
  return arch === 'amd64' ? 'x64' : arch;
}

export async function fetchFfmpeg(release: FfmpegRelease, arch: string, outDir: string): Promise<string[]> {
  const sums = release.sha256[releaseArch(arch)];
  if (!sums) throw new Error(`no pinned ffmpeg build for architecture "${arch}" (have ${Object.keys(release.sha256).join(', ')})`);
  await mkdir(outDir, { recursive: true });
  const written: string[] = [];
  for (const tool of ['ffmpeg', 'ffprobe'] as const) {
    const url = release.urlTemplate.replace('{version}', release.version).replace('{tool}', tool).replace('{arch}', releaseArch(arch));
    const res = await fetch(url);
    if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
    const bytes = Buffer.from(await res.arrayBuffer());
    const sha = createHash('sha256').update(bytes).digest('hex');
    if (sha !== sums[tool]) throw new Error(`${url}: SHA-256 ${sha} does not match the pinned ${sums[tool]}; refusing it`);
    const target = path.join(outDir, tool);
    await writeFile(`${target}.partial`, bytes);
    await chmod(`${target}.partial`, 0o755);
    await rename(`${target}.partial`, target);
    written.push(target);
  }
  return written;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const files = await fetchFfmpeg(await readRelease(), arg('--arch') ?? process.arch, arg('--out') ?? '/opt/bin');
  for (const f of files) console.log(f);
}
