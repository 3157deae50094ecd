/**
 * What CloudWatch Logs does with EMF in AWS, done locally: lines the functions print that are
 * EMF records (`{"_aws": ...}`) are collected into a file (for the metrics function) instead of
 * the console. Everything else passes through untouched.
 */
import { appendFileSync, mkdirSync, renameSync, statSync } from 'node:fs';
import path from 'node:path';

/** The collected file is rotated at this size (to <file>.1, replacing the previous one), so it never grows without bound. */
export const EMF_ROTATE_BYTES = 64 * 1024 * 1024;

export function captureEmf(file: string, rotateBytes = EMF_ROTATE_BYTES): () => void {
  mkdirSync(path.dirname(file), { recursive: true });
  let size = (() => { try { return statSync(file).size; } catch { return 0; } })();
  const append = (line: string) => {
    if (size + line.length > rotateBytes && size > 0) {
      renameSync(file, `${file}.1`);
      size = 0;
    }
    appendFileSync(file, line);
    size += Buffer.byteLength(line);
  };
  const original = process.stdout.write;
  let partial = '';
  process.stdout.write = function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]) {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
    if (!partial && !text.includes('{"_aws":')) return (original as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
    const lines = (partial + text).split('\n');
    partial = lines.pop()!;
    const keep = lines.filter((line) => {
      if (!line.startsWith('{"_aws":')) return true;
      append(`${line}\n`);
      return false;
    });
    if (partial && !partial.startsWith('{')) {
      keep.push(partial);
      partial = '';
    }
    const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    if (keep.length === 0) {
      cb?.();
      return true;
    }
    return (original as (...a: unknown[]) => boolean).call(this, `${keep.join('\n')}${text.endsWith('\n') || !partial ? '\n' : ''}`, ...rest);
  } as typeof process.stdout.write;
  return () => {
    process.stdout.write = original;
  };
}
