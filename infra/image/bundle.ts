/**
 * Bundles each Lambda handler into one ESM file (dist/functions/<name>.mjs) with esbuild. The
 * container image copies these; onnxruntime-node (native code) and PFFFT (loads its own .wasm)
 * stay external and are copied as they are.
 *
 *   npm run bundle [-- --outdir DIR]
 */
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const FUNCTIONS = ['presign', 'status', 'separate', 'metrics', 'dead-letter'] as const;
const root = path.resolve(import.meta.dirname, '..', '..');

/** Source files (repo-relative) and packages each bundle contains, from esbuild's metafile. */
export type BundleInputs = Record<(typeof FUNCTIONS)[number], string[]>;

/** The Node major version of the Lambda image (the Dockerfile's NODE_VERSION): one place says it. */
export function lambdaNodeMajor(dockerfile = path.join(root, 'infra', 'image', 'Dockerfile')): number {
  const m = /^ARG NODE_VERSION=(\d+)\s*$/m.exec(readFileSync(dockerfile, 'utf8'));
  if (!m) throw new Error(`${dockerfile} has no "ARG NODE_VERSION=<major>" line`);
  return Number(m[1]);
}

export async function bundleFunctions(outdir = path.join(root, 'dist', 'functions')): Promise<string[]> {
  await bundle(outdir);
  return FUNCTIONS.map((f) => path.join(outdir, `${f}.mjs`));
}

/** What went into each bundle: the check that no local-mode or development code ships. */
export async function bundleInputs(outdir = path.join(root, 'dist', 'functions')): Promise<BundleInputs> {
  const { metafile } = await bundle(outdir);
  const inputs = {} as BundleInputs;
  for (const [out, meta] of Object.entries(metafile.outputs)) {
    const f = FUNCTIONS.find((name) => out.endsWith(`/${name}.mjs`));
    if (f) inputs[f] = Object.keys(meta.inputs);
  }
  return inputs;
}

function bundle(outdir: string) {
  return build({
    entryPoints: Object.fromEntries(FUNCTIONS.map((f) => [f, path.join(root, 'functions', f, 'handler.ts')])),
    outdir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    target: `node${lambdaNodeMajor()}`,
    format: 'esm',
    sourcemap: 'linked',
    external: ['onnxruntime-node', '@echogarden/pffft-wasm', 'ffmpeg-static', '@ffmpeg-installer/*'],
    // bundled CommonJS dependencies call require() for Node built-ins
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
    logLevel: 'warning',
    metafile: true,
    absWorkingDir: root,
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  const i = process.argv.indexOf('--outdir');
  for (const f of await bundleFunctions(i > 0 ? path.resolve(process.argv[i + 1]) : undefined)) console.log(f);
}
