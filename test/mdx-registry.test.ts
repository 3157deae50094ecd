/**
 * Registry entries for the public UVR MDX-Net files, checked offline: manifests valid and
 * consistent with UVR's table, and models:fetch's contract (download, verify the ONNX shape and
 * metadata, record checksum and size, install atomically) run against a local server serving
 * small UVR-shaped files.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../layers/engine/load-model.js';
import { fetchEntry } from '../layers/models/fetch.js';
import { parseManifest } from '../layers/models/manifest.js';
import { readUvrTable } from '../layers/models/mdx-params.js';
import { readRegistry } from '../layers/models/registry.js';
import { tmpDir, writeUvrModel } from '../dev/models.js';
import { type FileServer, serveFiles } from './helpers/file-server.js';

const manifestOf = (file: string) => JSON.parse(readFileSync(new URL(`../models/manifests/${file}`, import.meta.url), 'utf8'));
const mdxEntries = readRegistry().models.filter((e) => e.manifest && manifestOf(e.manifest).family === 'mdx');

describe('registry: public UVR MDX-Net files', () => {
  it('lists Inst HQ 3/4, Voc FT, Kim Vocal 2, Karaoke 2, 9482 and the sherpa-onnx copies', () => {
    const files = mdxEntries.map((e) => path.basename(e.downloads![0].url));
    for (const f of ['UVR-MDX-NET-Inst_HQ_3.onnx', 'UVR-MDX-NET-Inst_HQ_4.onnx', 'UVR-MDX-NET-Voc_FT.onnx', 'Kim_Vocal_2.onnx', 'UVR_MDXNET_KARA_2.onnx', 'UVR_MDXNET_9482.onnx']) {
      expect(files).toContain(f);
    }
    expect(mdxEntries.filter((e) => e.downloads![0].url.includes('/k2-fsa/sherpa-onnx/releases/download/source-separation-models/')).length).toBeGreaterThanOrEqual(2);
  });

  const table = Object.values(readUvrTable());
  for (const e of mdxEntries) {
    it(`${e.id}: a valid mdx manifest whose parameters are a set UVR's table uses`, () => {
      const m = parseManifest({ ...manifestOf(e.manifest!), id: e.id }, e.id);
      expect(m.licence.length).toBeGreaterThan(10);
      expect(e.downloads![0].url).toMatch(/^https:\/\/github\.com\/(TRvlvr\/model_repo|k2-fsa\/sherpa-onnx)\/releases\/download\//);
      const same = table.filter((t) => t.mdx_n_fft_scale_set === m.stft.nFft && t.mdx_dim_f_set === m.bins && 2 ** t.mdx_dim_t_set === m.framesPerSplit);
      expect(same.length).toBeGreaterThan(0);
      expect(same.map((t) => t.compensate)).toContain(m.mdx!.compensate);
    });
  }
});

describe('models:fetch for mdx entries (local server)', () => {
  let server: FileServer;
  let base: string;
  const served: Record<string, string> = {};
  beforeAll(async () => {
    served['good.onnx'] = writeUvrModel({ dimF: 160, dimT: 32 });
    served['sherpa.onnx'] = writeUvrModel({ dimF: 160, dimT: 32, metadata: { nFft: 320, hop: 120 } });
    served['wrong-shape.onnx'] = writeUvrModel({ dimF: 128, dimT: 32 });
    server = await serveFiles((name) => served[name]);
    base = server.base;
  });
  afterAll(() => server.close());

  const manifest = {
    id: 'x', family: 'mdx', stems: ['vocals', 'instrumental'], residualStem: 'instrumental',
    files: [{ path: 'model.onnx', input: 'input', outputs: { vocals: 'output' } }],
    sampleRate: 44100, stft: { nFft: 480, hop: 120, window: 'hann-periodic', center: true },
    bins: 160, framesPerSplit: 32, highBand: 'zero', mdx: { compensate: 1.01 }, licence: 'test', source: 'test',
  };

  for (const file of ['good.onnx', 'sherpa.onnx']) {
    it(`installs ${file}, recording checksum and size, and the engine loads it with the manifest's n_fft`, async () => {
      const root = tmpDir('mdx-install');
      const dir = await fetchEntry({ id: 'tiny-mdx', description: '', downloads: [{ path: 'model.onnx', url: `${base}/${file}` }] }, manifest, { installDir: root });
      expect(readdirSync(root)).toEqual(['tiny-mdx']);
      const installed = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8'));
      expect(installed.files[0].bytes).toBe(readFileSync(served[file]).length);
      expect(installed.files[0].sha256).toMatch(/^[0-9a-f]{64}$/);
      const { model } = await loadModel(dir, 1);
      expect([model.family, model.stems, model.stft.nFft]).toEqual(['mdx', ['vocals', 'instrumental'], 480]);
    });
  }

  for (const [file, message] of [['wrong-shape.onnx', /input shape \[batch, 4, 128, 32\] does not match \[batch, 4, 160, 32\]/], ['missing.onnx', /HTTP 404/]] as const) {
    it(`rejects ${file} and leaves nothing installed`, async () => {
      const root = tmpDir('mdx-install-fail');
      await expect(fetchEntry({ id: 'tiny-mdx', description: '', downloads: [{ path: 'model.onnx', url: `${base}/${file}` }] }, manifest, { installDir: root })).rejects.toThrow(message);
      expect(readdirSync(root)).toEqual([]);
      expect(existsSync(path.join(root, 'tiny-mdx'))).toBe(false);
    });
  }
});

describe('time guard per model', () => {
  it('projects a heavy model\'s job from its own measured speed, not the global factor', async () => {
    const { projectJob, checkLimits } = await import('../layers/jobs/limits.js');
    const { readModelManifest } = await import('../layers/models/registry.js');
    const source = { durationSeconds: 240, bytes: 4e6 } as Parameters<typeof projectJob>[0];
    const global = { jobOverheadSeconds: 10, minRealTimeFactor: 4, modelMb: 44 };
    expect(projectJob(source, global).seconds).toBe(70);
    const speed = (await readModelManifest('mdx-arch')).realtimePerCore;
    expect(speed).toBeGreaterThan(0);
    const mdx = projectJob(source, { ...global, realtimePerCore: speed, cores: 2 });
    expect(mdx.seconds).toBeCloseTo(10 + 240 / (speed! * 2));
    // a 4-minute song fits 15 minutes with the global factor; with mdx-arch's speed it depends on it, not on the global one
    expect(() => checkLimits(source, { ...global, realtimePerCore: speed, cores: 2, remainingMs: (mdx.seconds - 1) * 1000 }, 'song.mp3')).toThrow(/would need about \d+ s/);
    expect(() => checkLimits(source, { ...global, realtimePerCore: speed, cores: 2, remainingMs: (mdx.seconds + 1) * 1000 }, 'song.mp3')).not.toThrow();
    for (const e of mdxEntries) expect(manifestOf(e.manifest!).realtimePerCore).toBeGreaterThan(0);
  });
});
