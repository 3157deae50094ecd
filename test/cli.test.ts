import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseCommand } from '../cli/args.js';
import { tmpDir, writeGainModel } from './helpers/models.js';
import { writeMusicWav } from './helpers/signals.js';
import { readWav } from './helpers/wav.js';

const run = promisify(execFile);
const bin = path.resolve('bin/stem-splitter.js');

describe('stem-splitter argument parsing', () => {
  const cases: [string[], object][] = [
    [['separate', 'a.mp3'], { command: 'separate', files: ['a.mp3'], format: 'wav16', sampleRate: 'model', out: 'stems', grid: 'aligned' }],
    [['separate', 'a.mp3', 'b.wav', '--stems', 'vocals, drums', '--format', 'flac', '--out', 'o'], { files: ['a.mp3', 'b.wav'], stems: ['vocals', 'drums'], format: 'flac', out: 'o' }],
    [['separate', 'a.mp3', '--sample-rate', 'source', '--threads', '2', '--high-band', 'zero', '--grid', 'reference'], { sampleRate: 'source', threads: 2, highBand: 'zero', grid: 'reference' }],
    [['separate', 'a.mp3', '--model', 'x/Kim_Vocal_2.onnx', '--overlap', '0.5'], { model: 'x/Kim_Vocal_2.onnx', overlap: 0.5 }],
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
    [['separate', 'a', '--overlap', '1'], /--overlap must be a number in \[0, 1\)/],
    [['frobnicate'], /unknown command "frobnicate"/],
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

  it('exits non-zero with a one-line reason, leaving no output', async () => {
    const out = path.join(dir, 'out-bad');
    const err = await run('node', [bin, 'separate', path.join(dir, 'missing.mp3'), '--model', model, '--out', out]).catch((e) => e);
    expect(err.code).toBe(1);
    expect(err.stderr.trim().split('\n')).toHaveLength(1);
    expect(err.stderr).toMatch(/^stem-splitter: .*missing\.mp3: missing\.mp3 not found/);
    expect(existsSync(path.join(out, 'missing'))).toBe(false);
  });
});
