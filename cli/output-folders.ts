/**
 * One output folder per input, named after the input: `song.mp3` → `<out>/song`. Inputs that
 * share a name get the extension too (`song.mp3`, `song.m4a`), so no input overwrites another's
 * stems; inputs that would still collide (the same name in two folders) are refused up front.
 */
import path from 'node:path';
import { InvalidRequestError } from '../layers/core/errors.js';

export function stemName(file: string): string {
  return path.basename(file).replace(/\.[^.]+$/, '') || path.basename(file);
}

export function outputFolders(files: string[], out: string): string[] {
  const bare = files.map(stemName);
  const names = files.map((f, i) => (bare.filter((b) => b === bare[i]).length > 1 ? path.basename(f) : bare[i]));
  const seen = new Map<string, string>();
  for (const [i, name] of names.entries()) {
    const other = seen.get(name);
    if (other !== undefined && path.resolve(other) !== path.resolve(files[i])) {
      throw new InvalidRequestError(`${other} and ${files[i]} would both write to ${path.join(out, name)}: rename one, or run them with different --out folders`);
    }
    if (other !== undefined) throw new InvalidRequestError(`${files[i]} is given twice`);
    seen.set(name, files[i]);
  }
  return names.map((n) => path.join(out, n));
}
