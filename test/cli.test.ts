import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseCommand } from '../cli/args.js';
import { outputFolders } from '../cli/output-folders.js';
import { tmpDir, writeGainModel } from '../dev/models.js';
import { ffmpeg, musicLike, writeMusicWav } from '../dev/signals.js';
import { readWav, writeWav } from '../dev/wav.js';

const run = promisify(execFile);
const bin = path.resolve('bin/stem-splitter.js');

describe('stem-splitter argument parsing', () => {
  const cases: [string[], object][] = [
    [['separate', 'a.mp3'], { command: 'separate', files: ['a.mp3'], format: 'wav16', sampleRate: 'model', out: 'stems', grid: 'aligned' }],
    [['separate', 'a.mp3', 'b.wav', '--stems', 'vocals, drums', '--format', 'flac', '--out', 'o'], { files: ['a.mp3', 'b.wav'], stems: ['vocals', 'drums'], format: 'flac', out: 'o' }],
    [['separate', 'a.mp3', '--sample-rate', 'source', '--threads', '2', '--high-band', 'zero', '--grid', 'reference'], { sampleRate: 'source', threads: 2, highBand: 'zero', grid: 'reference' }],
    [['separate', 'a.mp3', '--quality', 'best', '--iterations', '2'], { quality: 'best', iterations: 2 }],
    [['submit', 'a.mp3', '--api', 'http://x', '--quality', 'fast'], { command: 'submit', quality: 'fast' }],
    [['separate', 'a.mp3', '--model', 'x/Kim_Vocal_2.onnx', '--overlap', '0.5'], { model: 'x/Kim_Vocal_2.onnx', overlap: 0.5 }],
    [['separate', 'a.mp3', '--model', 'htdemucs', '--shifts', '2', '--seed', '42'], { model: 'htdemucs', shifts: 2, seed: 42 }],
    [['models'], { command: 'models' }],
    [[], { command: 'help' }],
  ];
  for (const [argv, expected] of cases) {
    it(`parses ${argv.join(' ') || '(nothing)'}`, () => expect(parseCommand(argv)).toMatchObject(expected));
  }
  const bad: [string[], RegExp][] = [
    [['separate'], /at least one input file/],
    [['separate', 'a', '--format', 'ogg'], /unknown output format "ogg"/],
    [['separate', 'a', '--threads', '0'], /--threads must be a positive integer/],
    [['separate', 'a', '--sample-rate', '48000'], /--sample-rate must be one of model, source/],
    [['separate', 'a', '--bogus'], /Unknown option '--bogus'/],
    [['separate', 'a', '--quality', 'max'], /--quality must be one of fast, best/],
    [['separate', 'a', '--iterations', '11'], /--iterations must be an integer from 0 to 10/],
    [['separate', 'a', '--overlap', '1'], /--overlap must be a number in \[0, 1\)/],
    [['separate', 'a', '--shifts', '21'], /--shifts must be an integer from 0 to 20/],
    [['separate', 'a', '--seed', '1.5'], /--seed must be an integer from 0 to 4294967295/],
    [['frobnicate'], /unknown command "frobnicate"/],
    [['submit', 'a.wav', '--api', 'localhost:3000'], /--api must be an http\(s\) URL such as http:\/\/127\.0\.0\.1:3000 \(got "localhost:3000"\)/],
  ];
  for (const [argv, message] of bad) it(`rejects ${argv.join(' ')}`, () => expect(() => parseCommand(argv)).toThrow(message));
});

describe('stem-splitter separate', () => {
  const dir = tmpDir('cli');
  const model = writeGainModel({ gains: { vocals: 1, accompaniment: 1 } });

  it('writes one folder of stems per input', async () => {
    const a = writeMusicWav(dir, 'song one.wav', 1.5);
    const b = writeMusicWav(dir, 'two.wav', 1);
    const out = path.join(dir, 'out');
    const { stdout } = await run('node', [bin, 'separate', a, b, '--model', model, '--out', out, '--format', 'wav24']);
    expect(stdout).toMatch(/song one\.wav -> .*song one \(vocals, accompaniment/);
    expect(readdirSync(path.join(out, 'song one')).sort()).toEqual(['accompaniment.wav', 'vocals.wav']);
    const v = readWav(path.join(out, 'two', 'vocals.wav'));
    expect(v.channels).toBe(2);
    expect(v.data.length).toBe(2 * 44100);
  });

  it('separates with Wiener filtering (--quality best): different stems that still sum to the input', async () => {
    const a = writeMusicWav(dir, 'best.wav', 1);
    const out = path.join(dir, 'out-best');
    const model2 = writeGainModel({ gains: { vocals: 1, accompaniment: 0.5 }, framesPerSplit: 64 });
    await run('node', [bin, 'separate', a, '--model', model2, '--out', path.join(out, 'fast'), '--format', 'wav32f']);
    await run('node', [bin, 'separate', a, '--model', model2, '--out', path.join(out, 'best'), '--format', 'wav32f', '--quality', 'best']);
    const x = readWav(a).data;
    const [vf, vb, ab] = [['fast', 'vocals'], ['best', 'vocals'], ['best', 'accompaniment']].map(([q, s]) => readWav(path.join(out, q, 'best', `${s}.wav`)).data);
    let diff = 0, sumErr = 0, energy = 0;
    for (let i = 0; i < x.length; i++) { diff = Math.max(diff, Math.abs(vf[i] - vb[i])); sumErr += (vb[i] + ab[i] - x[i]) ** 2; energy += x[i] ** 2; }
    expect(diff).toBeGreaterThan(0);
    expect(10 * Math.log10(energy / sumErr)).toBeGreaterThan(40);
  });

  it('exits non-zero with a one-line reason, leaving no output', async () => {
    const out = path.join(dir, 'out-bad');
    const err = await run('node', [bin, 'separate', path.join(dir, 'missing.mp3'), '--model', model, '--out', out]).catch((e) => e);
    expect(err.code).toBe(1);
    expect(err.stderr.trim().split('\n')).toHaveLength(1);
    expect(err.stderr).toMatch(/^stem-splitter: .*missing\.mp3: missing\.mp3 not found/);
    expect(existsSync(path.join(out, 'missing'))).toBe(false);
  });
});

describe('output folders', () => {
  it('names each folder after its input, adding the extension only where names collide', () => {
    expect(outputFolders(['a/song.mp3', 'b/other.wav'], 'o')).toEqual(['o/song', 'o/other']);
    expect(outputFolders(['song.mp3', 'song.m4a', 'x.wav'], 'o')).toEqual(['o/song.mp3', 'o/song.m4a', 'o/x']);
  });
  it('refuses inputs that would still write to one folder, and a file given twice', () => {
    expect(() => outputFolders(['a/song.mp3', 'b/song.mp3'], 'o')).toThrow(/a\/song\.mp3 and b\/song\.mp3 would both write to o\/song\.mp3/);
    expect(() => outputFolders(['song.mp3', './song.mp3'], 'o')).toThrow(/\.\/song\.mp3 is given twice/);
  });
});

describe('stem-splitter separate, first-time-user cases', () => {
  const dir = tmpDir('cli-first');
  const model = writeGainModel({ gains: { vocals: 1, accompaniment: 1 } });

  it('gives inputs that share a name their own folders (nothing overwritten)', async () => {
    const wav = writeMusicWav(dir, 'song.wav', 1);
    const m4a = ffmpeg(writeMusicWav(dir, 'song-src.wav', 2), path.join(dir, 'song.m4a'), ['-c:a', 'aac', '-b:a', '128k']);
    const out = path.join(dir, 'same-name');
    const { stdout } = await run('node', [bin, 'separate', wav, m4a, '--model', model, '--out', out]);
    expect(stdout).toMatch(/song\.wav -> .*same-name\/song\.wav \(/);
    expect(stdout).toMatch(/song\.m4a -> .*same-name\/song\.m4a \(/);
    expect(readdirSync(out).sort()).toEqual(['song.m4a', 'song.wav']);
    expect(readWav(path.join(out, 'song.wav', 'vocals.wav')).data.length).toBe(2 * 44100);
    const fromM4a = readWav(path.join(out, 'song.m4a', 'vocals.wav')).data.length / 2;
    expect(Math.abs(fromM4a - 2 * 44100)).toBeLessThan(3000); // aac priming, not the 1-second wav
  });

  it('refuses two inputs with the same file name before writing anything', async () => {
    mkdirSync(path.join(dir, 'a'));
    mkdirSync(path.join(dir, 'b'));
    const a = writeMusicWav(path.join(dir, 'a'), 'take.wav', 1);
    const b = writeMusicWav(path.join(dir, 'b'), 'take.wav', 1);
    const out = path.join(dir, 'refused');
    const err = await run('node', [bin, 'separate', a, b, '--model', model, '--out', out]).catch((e) => e);
    expect(err.code).toBe(1);
    expect(err.stderr).toMatch(/^stem-splitter: .*a\/take\.wav and .*b\/take\.wav would both write to .*refused\/take\.wav: rename one/);
    expect(existsSync(out)).toBe(false);
  });

  it('leaves no folder behind for a truncated input', async () => {
    const file = writeMusicWav(dir, 'cut.wav', 3);
    truncateSync(file, Math.floor(statSync(file).size * 0.5));
    const out = path.join(dir, 'truncated-out');
    const err = await run('node', [bin, 'separate', file, '--model', model, '--out', out]).catch((e) => e);
    expect(err.code).toBe(1);
    expect(err.stderr).toMatch(/cut\.wav is truncated or corrupt/);
    expect(existsSync(path.join(out, 'cut'))).toBe(false);
    expect(existsSync(out)).toBe(false);
  });

  // 'source' means the source's rate up to the 48 kHz output cap (STEMS_MAX_OUTPUT_RATE): a 96 kHz
  // input gives 48 kHz stems of exactly half its frames
  it.each([48000, 96000])('--sample-rate source keeps the exact length of a %i Hz input', async (rate) => {
    const frames = Math.round(1.7 * rate) + 7; // not a multiple of anything convenient
    const input = path.join(dir, `rate-${rate}.wav`);
    writeWav(input, musicLike(frames, rate), rate, 2, 's16');
    const flac = ffmpeg(input, path.join(dir, `rate-${rate}.flac`), ['-c:a', 'flac']);
    const out = path.join(dir, `rate-out-${rate}`);
    await run('node', [bin, 'separate', input, flac, '--model', model, '--out', out, '--sample-rate', 'source']);
    for (const name of [`rate-${rate}.wav`, `rate-${rate}.flac`]) {
      for (const stem of ['vocals', 'accompaniment']) {
        const w = readWav(path.join(out, name, `${stem}.wav`));
        const outRate = Math.min(rate, 48000);
        expect(w.sampleRate).toBe(outRate);
        expect(w.data.length / 2, `${name} ${stem}`).toBe(Math.round((frames * outRate) / rate));
      }
    }
  });
});

describe('stem-splitter models', () => {
  it('says which models are installed, their size, stems and licence, and how to get the others', async () => {
    const installed = tmpDir('installed-models');
    cpSync(writeGainModel({ id: 'tiny', gains: { vocals: 2, accompaniment: 1 } }), path.join(installed, 'tiny'), { recursive: true });
    const { stdout, stderr } = await run('node', [bin, 'models'], {
      env: { ...process.env, STEMS_MODELS_DIR: installed, STEMS_SHARED_DIR: path.join(installed, 'no-shared'), STEMS_DEFAULT_MODEL: '' },
    });
    expect(stderr).toBe('');
    expect(stdout).toMatch(/^\* default: installed, 10 MB\n {4}4 stems \(vocals, drums, bass, other\) · modest quality .* · ~24× real time\n {4}licence: Trained on MUSDB18/m);
    expect(stdout).toMatch(/^ {2}spleeter-2stems-arch: needs the shared folder \(.*no-shared\/models\/spleeter-2stems-arch\/unpack\.sh not found; set STEMS_SHARED_DIR\)$/m);
    expect(stdout).toMatch(/^ {2}spleeter-2stems: not installed, ~78 MB \(npm run models:fetch -- spleeter-2stems\)\n {4}2 stems \(vocals, accompaniment\) · published Deezer Spleeter weights · ~10× real time\n {4}licence: MIT/m);
    expect(stdout).toMatch(/^ {2}tiny: installed, 0\.\d MB\n {4}2 stems \(vocals, accompaniment\) · speed not measured$/m);
  });
});

describe('errors that name the URL and the cause', () => {
  /** A copy of the registry whose downloads point at `base`: what models:fetch meets offline. */
  function registryAt(base: string): string {
    const root = tmpDir('registry');
    cpSync(path.resolve('models'), root, { recursive: true, filter: (f) => !f.endsWith('.onnx') });
    const reg = JSON.parse(readFileSync(path.join(root, 'registry.json'), 'utf8'));
    for (const m of reg.models) for (const d of m.downloads ?? []) d.url = `${base}/${d.path}`;
    writeFileSync(path.join(root, 'registry.json'), JSON.stringify(reg));
    return root;
  }
  async function modelsFetch(base: string) {
    const installDir = tmpDir('fetch-into');
    const err = await run('npx', ['--no-install', 'tsx', 'cli/models-fetch.ts', 'spleeter-2stems'], {
      env: { ...process.env, STEMS_BUNDLED_MODELS_DIR: registryAt(base), STEMS_MODELS_DIR: installDir },
    }).catch((e) => e);
    return { err, left: readdirSync(installDir) };
  }

  it('models:fetch offline names the file it could not reach and says why', async () => {
    const { err, left } = await modelsFetch('http://models.invalid');
    expect(err.code).toBe(1);
    expect(err.stderr).toMatch(/models:fetch spleeter-2stems failed: could not reach http:\/\/models\.invalid\/vocals\.onnx: (host not found \(offline, or a mistyped address\?\)|name lookup failed \(offline\?\))/);
    expect(err.stderr).not.toMatch(/fetch failed/);
    expect(left).toEqual([]);
  });

  it('submit to a wrong --api names the URL: nothing listening, or a server that is not the API', async () => {
    const song = writeMusicWav(tmpDir('submit'), 'song.wav', 1);
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const refused = await run('node', [bin, 'submit', song, '--api', `http://127.0.0.1:${port}`]).catch((e) => e);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(new RegExp(`^stem-splitter: could not reach http://127\\.0\\.0\\.1:${port}/jobs: connection refused \\(nothing is listening there`));

    const other = http.createServer((_req, res) => res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>Not Found</h1>'));
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
      const wrong = await run('node', [bin, 'submit', song, '--api', url]).catch((e) => e);
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toMatch(new RegExp(`^stem-splitter: POST ${url}/jobs answered HTTP 404 with no JSON: is --api the Stem Splitter API's URL`));
    } finally {
      other.close();
    }
  });
});
