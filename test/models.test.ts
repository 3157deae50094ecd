import { createHash } from 'node:crypto';
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelLoadError, ModelNotFoundError } from '../layers/core/errors.js';
import { loadModel } from '../layers/engine/load-model.js';
import { getSession, RUNS_QUEUED, sessionCount } from '../layers/engine/ort-sessions.js';
import { fetchEntry } from '../layers/models/fetch.js';
import { parseManifest } from '../layers/models/manifest.js';
import { readOnnxContract } from '../layers/models/onnx-proto.js';
import { locateModel, readRegistry } from '../layers/models/registry.js';
import { type FileServer, serveFiles } from './helpers/file-server.js';
import { tmpDir, writeGainModel } from '../dev/models.js';

const valid = JSON.parse(readFileSync(new URL('../models/manifests/spleeter-2stems.json', import.meta.url), 'utf8'));

describe('model manifest', () => {
  it('accepts the published spleeter contract', () => {
    const m = parseManifest(valid, 'test');
    expect(m.stems).toEqual(['vocals', 'accompaniment']);
    expect(m.stft).toEqual({ nFft: 4096, hop: 1024, window: 'hann-periodic', center: false });
  });

  const broken: [string, (m: Record<string, unknown>) => void, RegExp][] = [
    ['an unknown residual stem', (m) => { m.residualStem = 'drums'; }, /residualStem "drums"/],
    ['a stem no file estimates', (m) => { m.stems = ['vocals', 'accompaniment', 'bass']; }, /no file estimates stem\(s\) bass/],
    ['a hop that does not divide nFft', (m) => { m.stft = { ...(m.stft as object), hop: 1000 }; }, /hop must divide/],
    ['more bins than the FFT has', (m) => { m.bins = 5000; }, /bins must be at most nFft\/2\+1 = 2049/],
    ['a file path escaping the folder', (m) => { m.files = [{ path: '../x.onnx', input: 'x', outputs: { vocals: 'y', accompaniment: 'z' } }]; }, /inside the model folder/],
    ['a bad checksum', (m) => { m.files = [{ path: 'a.onnx', sha256: 'abc', input: 'x', outputs: { vocals: 'y', accompaniment: 'z' } }]; }, /sha256 must be 64 hex/],
    ['an unknown high-band policy', (m) => { m.highBand = 'mirror'; }, /highBand must be/],
  ];
  for (const [what, mutate, message] of broken) {
    it(`rejects ${what}`, () => {
      const m = structuredClone(valid);
      mutate(m);
      expect(() => parseManifest(m, 'test')).toThrow(message);
    });
  }
});

describe('model registry', () => {
  it('lists the sherpa-onnx Spleeter releases in fp32, int8 and fp16, and the default', () => {
    const ids = readRegistry().models.map((m) => m.id);
    expect(ids).toEqual(expect.arrayContaining(['default', 'spleeter-2stems', 'spleeter-2stems-int8', 'spleeter-2stems-fp16']));
  });

  it('tells how to install a known model that is not installed, and rejects unknown ones', () => {
    expect(() => locateModel('spleeter-2stems-int8')).toThrow(/npm run models:fetch -- spleeter-2stems-int8/);
    expect(() => locateModel('nope')).toThrow(ModelNotFoundError);
  });

  it('creates each ONNX session once per process and file, and reuses it', async () => {
    const dir = writeGainModel({ gains: { a: 1, b: 2 }, layout: 'file-per-stem' });
    const before = sessionCount();
    // two files on two threads: the family runs them in parallel on one thread each
    const [first, concurrent] = await Promise.all([getSession(path.join(dir, 'a.onnx'), 1), getSession(path.join(dir, 'a.onnx'), 1)]);
    expect(concurrent).toBe(first);
    expect(sessionCount()).toBe(before + 1);
    // loading the model reuses that session and creates only the other file's
    await loadModel(dir, 2);
    expect(sessionCount()).toBe(before + 2);
    expect(await getSession(path.join(dir, 'a.onnx'), 1)).toBe(first);
    // another thread count is another session
    expect(await getSession(path.join(dir, 'a.onnx'), 2)).not.toBe(first);
    expect(sessionCount()).toBe(before + 3);
  });

  it(`runs queue in the session's worker (${RUNS_QUEUED} at a time): every run gets its own input's output, in order, with the model's own time`, async () => {
    const dir = writeGainModel({ gains: { a: 3 }, id: 'queued-runs' });
    const session = await getSession(path.join(dir, 'model.onnx'), 1);
    const dims = [2, 1, 16, 96];
    const inputs = Array.from({ length: 3 * RUNS_QUEUED + 1 }, (_, i) => new Float32Array(2 * 16 * 96).fill(i + 1));
    const timings = inputs.map(() => ({ ms: -1 }));
    const done: number[] = [];
    const outs = await Promise.all(inputs.map((x, i) => session.run({ x: { data: x, dims } }, timings[i]).then((r) => { done.push(i); return r; })));
    expect(done).toEqual(inputs.map((_, i) => i));
    for (const [i, r] of outs.entries()) expect(r.y_a.data.every((v) => v === 3 * (i + 1))).toBe(true);
    for (const t of timings) expect(t.ms).toBeGreaterThanOrEqual(0);
  });

  it('does not keep a failed load: the next call tries again', async () => {
    const file = path.join(tmpDir('bad-onnx'), 'broken.onnx');
    writeFileSync(file, 'not a model');
    await expect(getSession(file, 1)).rejects.toThrow(ModelLoadError);
    const before = sessionCount();
    const dir = writeGainModel({ gains: { a: 1 } });
    copyFileSync(path.join(dir, 'model.onnx'), file);
    await expect(getSession(file, 1)).resolves.toBeDefined();
    expect(sessionCount()).toBe(before + 1);
  });
});

describe('ONNX contract reader', () => {
  it('reads metadata, inputs and outputs of a model without loading it', () => {
    const dir = writeGainModel({ gains: { vocals: 1, drums: 2 } });
    const c = readOnnxContract(readFileSync(path.join(dir, 'model.onnx')));
    expect(c.metadata).toEqual({ model_type: 'spleeter', stems: '2' });
    expect(c.inputs).toEqual([{ name: 'x', shape: [2, 'num_splits', 16, 96], elemType: 1 }]);
    expect(c.outputs.map((o) => o.name)).toEqual(['y_vocals', 'y_drums']);
  });
});

describe('models:fetch', () => {
  const served = writeGainModel({ gains: { vocals: 1, accompaniment: 1 }, layout: 'file-per-stem', framesPerSplit: 16, bins: 96 });
  const manifest = JSON.parse(readFileSync(path.join(served, 'model.json'), 'utf8'));
  let server: FileServer;
  let base = '';

  beforeAll(async () => {
    server = await serveFiles((name) => path.join(served, name), (name, res) => {
      if (name !== 'short.onnx') return false;
      // a download cut after 10 of the 100,000 bytes it announced
      res.writeHead(200, { 'content-length': '100000' });
      res.write(Buffer.alloc(10), () => res.socket?.destroy());
      return true;
    });
    base = server.base;
  });
  afterAll(() => server.close());

  const sha = (f: string) => createHash('sha256').update(readFileSync(path.join(served, f))).digest('hex');

  it('downloads, verifies and installs a model atomically, recording checksums', async () => {
    const root = tmpDir('install');
    const dir = await fetchEntry({
      id: 'tiny', description: '',
      downloads: [
        { path: 'vocals.onnx', url: `${base}/vocals.onnx`, sha256: sha('vocals.onnx') },
        { path: 'accompaniment.onnx', url: `${base}/accompaniment.onnx` },
      ],
    }, manifest, { installDir: root });
    expect(readdirSync(root)).toEqual(['tiny']);
    const installed = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8'));
    expect(installed.files.map((f: { sha256: string }) => f.sha256)).toEqual([sha('vocals.onnx'), sha('accompaniment.onnx')]);
    const { model } = await loadModel(dir, 1);
    expect(model.stems).toEqual(['vocals', 'accompaniment']);
  });

  const failures: [string, (b: string) => { path: string; url: string; sha256?: string }[], RegExp][] = [
    ['a checksum mismatch', (b) => [{ path: 'vocals.onnx', url: `${b}/vocals.onnx`, sha256: '0'.repeat(64) }], /sha256 .* does not match/],
    ['a missing file', (b) => [{ path: 'vocals.onnx', url: `${b}/gone.onnx` }], /HTTP 404/],
    ['a cut-off download', (b) => [{ path: 'vocals.onnx', url: `${b}/short.onnx` }], /ended after|terminated|other side closed/],
    ['a file that breaks the I/O contract', (b) => [{ path: 'vocals.onnx', url: `${b}/model.json` }], /not a valid ONNX file|expected input/],
  ];
  for (const [what, downloads, message] of failures) {
    it(`rejects ${what} and leaves nothing installed`, async () => {
      const root = tmpDir('install-fail');
      await expect(fetchEntry({ id: 'tiny', description: '', downloads: downloads(base) }, manifest, { installDir: root }))
        .rejects.toThrow(message);
      expect(readdirSync(root)).toEqual([]);
    });
  }

  it('rejects a model whose input shape does not match the manifest', async () => {
    const root = tmpDir('install-shape');
    const wrong = { ...manifest, bins: 128 };
    await expect(fetchEntry({ id: 'tiny', description: '', downloads: [{ path: 'vocals.onnx', url: `${base}/vocals.onnx` }] }, wrong, { installDir: root }))
      .rejects.toThrow(ModelLoadError);
    expect(readdirSync(root)).toEqual([]);
  });
});
