/**
 * The demucs models as the product offers them: registry entries (manifests valid, a download
 * checked against the contract on install, converter-only entries that say how to make them), and
 * a six-stem demucs model end to end through the local stack (API, job, zip, manifest).
 */
import { cpSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJob, download, unzip, uploadFile, waitForJob } from '../cli/api-client.js';
import { tmpDir, writeDemucsGainModel } from '../dev/models.js';
import { writeMusicWav } from '../dev/signals.js';
import { readWav, sdr } from '../dev/wav.js';
import { loadModel } from '../layers/engine/load-model.js';
import { fetchEntry, fetchModel } from '../layers/models/fetch.js';
import { parseManifest } from '../layers/models/manifest.js';
import { locateModel, readRegistry } from '../layers/models/registry.js';
import type { LocalStack } from '../local/stack.js';
import { serveFiles, type FileServer } from './helpers/file-server.js';
import { startTestStack } from './helpers/local.js';

const manifestOf = (file: string) => JSON.parse(readFileSync(new URL(`../models/manifests/${file}`, import.meta.url), 'utf8'));
const SIX = ['drums', 'bass', 'other', 'vocals', 'guitar', 'piano'];

describe('registry: Demucs models', () => {
  const entries = readRegistry().models.filter((e) => e.manifest && manifestOf(e.manifest).family === 'demucs');

  it('lists htdemucs (download), htdemucs-6s with six stems and the htdemucs-ft bag, each MIT with a measured speed', () => {
    expect(entries.map((e) => e.id)).toEqual(['htdemucs', 'htdemucs-6s', 'htdemucs-ft']);
    for (const e of entries) {
      const m = parseManifest({ ...manifestOf(e.manifest!), id: e.id }, e.id);
      expect(m.licence).toMatch(/^MIT/);
      expect(m.realtimePerCore).toBeGreaterThan(0);
      expect([m.demucs?.segmentSamples, m.framesPerSplit, m.bins]).toEqual([343980, 336, 2048]);
      expect(e.downloads?.length || e.convert).toBeTruthy();
      expect(e.sizeMb).toBeGreaterThan(0);
    }
    expect(parseManifest(manifestOf('htdemucs-6s.json'), '6s').stems).toEqual(SIX);
    const ft = parseManifest(manifestOf('htdemucs-ft.json'), 'ft');
    expect(ft.demucs?.weights).toEqual([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]);
    expect(ft.realtimePerCore).toBeLessThan(parseManifest(manifestOf('htdemucs.json'), 'h').realtimePerCore! / 3);
  });

  it('the time and memory guards use the model\'s own measurements', async () => {
    const { checkLimits, projectJob } = await import('../layers/jobs/limits.js');
    const m = parseManifest(manifestOf('htdemucs.json'), 'htdemucs');
    expect(m.peakMemoryMb).toBeGreaterThan(1000);
    const source = { durationSeconds: 240, bytes: 4e6 } as Parameters<typeof projectJob>[0];
    const limits = { jobOverheadSeconds: 10, minRealTimeFactor: 35, modelMb: 170, realtimePerCore: m.realtimePerCore, cores: 2, modelPeakMb: m.peakMemoryMb };
    const p = projectJob(source, limits);
    expect(p.seconds).toBeCloseTo(10 + 240 / (m.realtimePerCore! * 2));
    // the file is 170 MB but the activations dwarf it: the measured peak is what counts
    expect(p.memoryMb).toBe(m.peakMemoryMb);
    expect(() => checkLimits(source, { ...limits, memoryMb: 1769 }, 'song.mp3')).toThrow(/needs about \d+ MB but the function has 1769 MB/);
    expect(() => checkLimits(source, { ...limits, memoryMb: 4096 }, 'song.mp3')).not.toThrow();
  });

  it('a model with no download says how to convert it', async () => {
    expect(() => locateModel('htdemucs-6s')).toThrow(/convert it with `python3 models\/convert\/demucs_onnx.py htdemucs_6s .*htdemucs-6s`/);
    await expect(fetchModel('htdemucs-ft')).rejects.toThrow(/no download .* convert it with `python3 models\/convert\/demucs_onnx.py htdemucs_ft/);
  });

  describe('install', () => {
    let server: FileServer;
    const served: Record<string, string> = {};
    beforeAll(async () => {
      served['good.onnx'] = path.join(writeDemucsGainModel({ stems: ['a', 'b'], gains: { freq: [1, 0], time: [0, 1] }, segmentSamples: 44100 }), 'model.onnx');
      served['short.onnx'] = path.join(writeDemucsGainModel({ stems: ['a', 'b'], gains: { freq: [1, 0], time: [0, 1] }, segmentSamples: 22050 }), 'model.onnx');
      server = await serveFiles((name) => served[name]);
    });
    afterAll(() => server.close());
    const manifest = {
      id: 'x', family: 'demucs', stems: ['a', 'b'], files: [{ path: 'model.onnx', input: 'mix' }],
      sampleRate: 44100, stft: { nFft: 4096, hop: 1024, window: 'hann-periodic', center: true }, bins: 2048, framesPerSplit: 44, highBand: 'zero',
      demucs: { segmentSamples: 44100 }, licence: 'test', source: 'test',
    };

    it('installs a file in the contract, recording checksum and size, and the engine loads it', async () => {
      const root = tmpDir('demucs-install');
      const dir = await fetchEntry({ id: 'tiny-demucs', description: '', downloads: [{ path: 'model.onnx', url: `${server.base}/good.onnx` }] }, manifest, { installDir: root });
      const installed = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8'));
      expect(installed.files[0].bytes).toBe(readFileSync(served['good.onnx']).length);
      const { model } = await loadModel(dir, 1);
      expect([model.family, model.kind, model.stems]).toEqual(['demucs', 'hybrid-segments', ['a', 'b']]);
    });

    it('rejects a file whose segment is not the manifest\'s, and leaves nothing installed', async () => {
      const root = tmpDir('demucs-install-fail');
      await expect(fetchEntry({ id: 'tiny-demucs', description: '', downloads: [{ path: 'model.onnx', url: `${server.base}/short.onnx` }] }, manifest, { installDir: root }))
        .rejects.toThrow(/mix has shape \[1, 2, 22050\], the manifest says \[1, 2, 44100\]/);
      expect(readdirSync(root)).toEqual([]);
    });
  });
});

describe('a six-stem demucs model end to end (local stack)', () => {
  let stack: LocalStack;
  const models = tmpDir('demucs-models');
  beforeAll(async () => {
    // stem s is (s + 1) / 10 x the input: each file tells which stem it is
    const gains = SIX.map((_, s) => (s + 1) / 10);
    const src = writeDemucsGainModel({ id: 'six', stems: SIX, gains: { freq: gains.map((g) => g / 2), time: gains.map((g) => g / 2) }, segmentSamples: 44100 });
    cpSync(src, path.join(models, 'six'), { recursive: true });
    stack = await startTestStack({ env: { STEMS_MODELS_DIR: models, STEMS_DEFAULT_MODEL: 'six' } });
  });
  afterAll(() => stack?.close());

  it('returns six stems in the zip and its manifest, each the model\'s', async () => {
    const dir = tmpDir('demucs-e2e');
    const input = writeMusicWav(dir, 'song.wav', 3);
    const job = await createJob(stack.apiUrl, input, { model: 'six', format: 'wav32f' });
    await uploadFile(job.upload, input);
    const done = await waitForJob(stack.apiUrl, job.jobId, { intervalMs: 100 });
    expect(done.state).toBe('done');
    expect(done.downloads!.stems.map((s) => s.stem)).toEqual(SIX);
    const zip = path.join(dir, 'six.zip');
    await download(done.downloads!.zip, zip);
    const out = tmpDir('demucs-e2e-unzip');
    expect((await unzip(zip, out)).sort()).toEqual([...SIX.map((s) => `${s}.wav`), 'manifest.json'].sort());
    const manifest = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8'));
    expect(manifest.model).toMatchObject({ id: 'six', stems: SIX });
    const x = readWav(input).data;
    for (const [s, stem] of SIX.entries()) {
      const y = readWav(path.join(out, `${stem}.wav`)).data;
      expect(y.length).toBe(x.length);
      // away from the song's first and last 1.5k samples (Demucs' spectrogram edges), stem = gain x input
      const scaled = x.map((v) => v * ((s + 1) / 10));
      expect(sdr(scaled, y, 2 * 4096, x.length - 2 * 4096)).toBeGreaterThan(60);
    }
  }, 120_000);
});
