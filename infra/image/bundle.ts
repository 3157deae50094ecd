/**
 * Bundles each Lambda handler into one ESM file (dist/functions/<name>.mjs) with esbuild. The
 * container image copies these; onnxruntime-node stays external (native code, copied as is).
 *
 *   npm run bundle [-- --outdir DIR]
 */
import { build } from 'esbuild';
import path from 'node:path';

export const FUNCTIONS = ['presign', 'status', 'separate', 'metrics', 'dead-letter'] as const;
const root = path.resolve(import.meta.dirname, '..', '..');

export async function bundleFunctions(outdir = path.join(root, 'dist', 'functions')): Promise<string[]> {
  await build({
    entryPoints: Object.fromEntries(FUNCTIONS.map((f) => [f, path.join(root, 'functions', f, 'handler.ts')])),
    outdir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    sourcemap: 'linked',
    external: ['onnxruntime-node', 'ffmpeg-static', '@ffmpeg-installer/*'],
    // bundled CommonJS dependencies call require() for Node built-ins
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
    logLevel: 'warning',
  });
  return FUNCTIONS.map((f) => path.join(outdir, `${f}.mjs`));
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  const i = process.argv.indexOf('--outdir');
  for (const f of await bundleFunctions(i > 0 ? path.resolve(process.argv[i + 1]) : undefined)) console.log(f);
}
