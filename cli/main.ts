/**
 * The stem-splitter command: parse → act → print. The only place in the project that exits.
 */
import cliProgress from 'cli-progress';
import path from 'node:path';
import { separateFile } from '../layers/engine/separate-file.js';
import { modelCatalog, type CatalogEntry } from '../layers/models/catalog.js';
import { enableSharedModels } from '../local/shared-models.js';
import { parseCommand, USAGE, type SeparateCommand } from './args.js';
import { outputFolders } from './output-folders.js';
import { submit } from './submit.js';

async function separate(cmd: SeparateCommand): Promise<void> {
  const folders = outputFolders(cmd.files, cmd.out);
  for (const [i, file] of cmd.files.entries()) {
    const outDir = folders[i];
    const name = path.basename(outDir);
    const bar = new cliProgress.SingleBar({
      format: `${name.slice(0, 30).padEnd(30)} [{bar}] {percentage}% {stage}`,
      stream: process.stderr,
      noTTYOutput: false,
    }, cliProgress.Presets.shades_classic);
    bar.start(100, 0, { stage: 'starting' });
    try {
      const r = await separateFile(file, outDir, {
        model: cmd.model, stems: cmd.stems, format: cmd.format, sampleRate: cmd.sampleRate,
        threads: cmd.threads, highBand: cmd.highBand, grid: cmd.grid, quality: cmd.quality, iterations: cmd.iterations, overlap: cmd.overlap,
        shifts: cmd.shifts, seed: cmd.seed,
        onProgress: (stage, fraction) => bar.update(Math.round(fraction * 100), { stage }),
      });
      bar.update(100, { stage: 'done' });
      bar.stop();
      const secs = (r.timings.totalMs / 1000).toFixed(1);
      const clipped = r.stems.filter((s) => s.clippedSamples > 0).map((s) => `${s.stem}: ${s.clippedSamples}`);
      console.log(`${file} -> ${outDir} (${r.stems.map((s) => s.stem).join(', ')}; ${secs} s)` +
        (clipped.length ? ` clipped samples: ${clipped.join(', ')}` : ''));
    } catch (err) {
      bar.stop();
      throw new Error(`${file}: ${(err as Error).message}`);
    }
  }
}

function formatModel(m: CatalogEntry): string {
  const size = m.sizeMb === undefined ? '' : `, ${m.state === 'installed' ? '' : '~'}${m.sizeMb < 10 ? m.sizeMb.toFixed(1) : Math.round(m.sizeMb)} MB`;
  return [
    `${m.default ? '*' : ' '} ${m.id}: ${m.state}${size}${m.hint ? ` (${m.hint})` : ''}`,
    `    ${m.summary}`,
    `    licence: ${m.licence ?? 'not stated'}`,
  ].join('\n');
}

async function main(argv: string[]): Promise<void> {
  const cmd = parseCommand(argv);
  enableSharedModels();
  switch (cmd.command) {
    case 'help':
      console.log(USAGE);
      return;
    case 'models':
      console.log((await modelCatalog()).map(formatModel).join('\n'));
      console.log('\n* the default model (STEMS_DEFAULT_MODEL changes it)');
      return;
    case 'separate':
      return separate(cmd);
    case 'submit':
      return submit(cmd);
  }
}

// `stem-splitter models | head` closes the pipe early: that is not an error
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

try {
  await main(process.argv.slice(2));
} catch (err) {
  console.error(`stem-splitter: ${(err as Error).message.split('\n')[0]}`);
  process.exit(1);
}
