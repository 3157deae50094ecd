/** `npm run models:fetch -- <id> [...]`: installs registry models with a progress bar. */
import cliProgress from 'cli-progress';
import { fetchModel } from '../layers/models/fetch.js';
import { readRegistry } from '../layers/models/registry.js';

const ids = process.argv.slice(2);
if (ids.length === 0) {
  console.log('usage: npm run models:fetch -- <id> [<id> ...]\n\nmodels:');
  for (const m of readRegistry().models) console.log(`  ${m.id.padEnd(24)} ${m.bundled ? '(bundled) ' : ''}${m.description}`);
  process.exit(2);
}
for (const id of ids) {
  const bar = new cliProgress.SingleBar({ format: `${id} {file} [{bar}] {percentage}% {value}/{total} MB` }, cliProgress.Presets.shades_classic);
  let current = '';
  try {
    const dir = await fetchModel(id, {
      onProgress: ({ file, received, total }) => {
        if (file !== current) {
          if (current) bar.stop();
          current = file;
          bar.start(Math.round((total ?? 0) / 1e6), 0, { file });
        }
        bar.update(Math.round(received / 1e6), { file });
      },
    });
    if (current) bar.stop();
    console.log(`installed ${id} in ${dir}`);
  } catch (err) {
    if (current) bar.stop();
    console.error(`models:fetch ${id} failed: ${(err as Error).message}`);
    process.exitCode = 1;
  }
}
