/**
 * Per-job working folders in the temp dir (`job-<pid>-<jobId>-XXXXXX`: input and stems). A worker
 * killed mid-job (timeout, out of memory) leaves its folder behind, and Lambda reuses the sandbox
 * and its /tmp: so every invocation first removes folders no live job owns, before it needs space.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const PREFIX = 'job-';
const active = new Set<string>();

export async function createWorkDir(jobId: string, root = os.tmpdir()): Promise<string> {
  const dir = await mkdtemp(path.join(root, `${PREFIX}${process.pid}-${jobId}-`));
  active.add(dir);
  return dir;
}

export async function removeWorkDir(dir: string): Promise<void> {
  try {
    await rm(dir, { recursive: true, force: true });
  } finally {
    active.delete(dir);
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes job folders that no job in progress owns. `exclusive` (Lambda: one invocation per
 * sandbox at a time) treats every folder this process is not using as stale; otherwise (local
 * mode, several workers sharing /tmp) only those of processes that are gone, and our own leftovers.
 */
export async function removeStaleWorkDirs(opts: { exclusive: boolean; root?: string }): Promise<string[]> {
  const root = opts.root ?? os.tmpdir();
  const removed: string[] = [];
  for (const name of await readdir(root).catch(() => [] as string[])) {
    if (!name.startsWith(PREFIX)) continue;
    const dir = path.join(root, name);
    if (active.has(dir)) continue;
    const pid = Number(/^job-(\d+)-/.exec(name)?.[1]);
    const stale = opts.exclusive || pid === process.pid || !Number.isInteger(pid) || !processAlive(pid);
    if (!stale) continue;
    await rm(dir, { recursive: true, force: true }).catch(() => {});
    removed.push(dir);
  }
  return removed;
}
