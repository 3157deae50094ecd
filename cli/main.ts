/**
 * The stem-splitter command: parse → act → print. The only place in the project that exits.
 */
import cliProgress from 'cli-progress';
import path from 'node:path';
import { separateFile } from '../layers/engine/separate-file.js';
import { defaultModelId, readRegistry } from '../models/registry.js';
import { parseCommand, USAGE, type SeparateCommand } from './args.js';
import { submit } from './submit.js';

async function separate(cmd: SeparateCommand): Promise<void> {
  for (const file of cmd.files) {
    const name = path.basename(file).replace(/\.[^.]+$/, '');
    const outDir = path.join(cmd.out, name);
    const bar = new cliProgress.SingleBar({
      format: `${name.slice(0, 30).padEnd(30)} [{bar}] {percentage}% {stage}`,
      stream: process.stderr,
      noTTYOutput: false,
    }, cliProgress.Presets.shades_classic);
    bar.start(100, 0, { stage: 'starting' });
    try {
      const r = await separateFile(file, outDir, {
        model: cmd.model, stems: cmd.stems, format: cmd.format, sampleRate: cmd.sampleRate,
        threads: cmd.threads, highBand: cmd.highBand, grid: cmd.grid, overlap: cmd.overlap,
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

async function main(argv: string[]): Promise<void> {
  const cmd = parseCommand(argv);
  switch (cmd.command) {
    case 'help':
      console.log(USAGE);
      return;
    case 'models':
      for (const m of readRegistry().models) {
        console.log(`${m.id === defaultModelId() ? '*' : ' '} ${m.id.padEnd(24)} ${m.description}`);
      }
      return;
    case 'separate':
      return separate(cmd);
    case 'submit':
      return submit(cmd);
  }
}

try {
  await main(process.argv.slice(2));
} catch (err) {
  console.error(`stem-splitter: ${(err as Error).message.split('\n')[0]}`);
  process.exit(1);
}
