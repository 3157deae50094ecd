/**
 * The upload page end to end in a real browser (Debian's chromium driven by playwright-core)
 * against the local stack: choose a file (name, size, length shown), split it (one job at a time,
 * one monotonic progress bar), seek and play the stems, fetch a download, and see the errors a
 * user can act on. Screenshots go to test-artifacts/web/.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAudio } from '../layers/audio/decode.js';
import type { LocalStack } from '../local/stack.js';
import { availableModels, pageConfig } from '../local/page-config.js';
import { startTestStack } from './helpers/local.js';
import { tmpDir } from '../dev/models.js';
import { hasPrerequisite } from './helpers/prerequisites.js';
import { ffmpeg as ffmpegFile, musicLike, writeMusicWav } from '../dev/signals.js';
import { writeWav } from '../dev/wav.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const shots = path.resolve('test-artifacts', 'web');
const hasBrowser = hasPrerequisite(existsSync(CHROMIUM), `no browser at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);
/** This machine's shared folder (the arch models' files), before the stack points it elsewhere. */
const realShared = path.resolve(process.env.STEMS_SHARED_DIR ?? '../shared');

let stack: LocalStack;
let browser: Browser;
const dir = tmpDir('web');

beforeAll(async () => {
  if (!hasBrowser) return;
  mkdirSync(shots, { recursive: true });
  await build({ configFile: path.resolve('web/vite.config.ts'), logLevel: 'warn' });
  stack = await startTestStack({
    // the page polls, and the worker writes progress, often enough to see every stage of a short job
    site: { dir: path.resolve('dist/web'), generated: { '/config.json': async () => ({ ...(await pageConfig()), pollIntervalMs: 50 }) } },
    // no shared folder: a fresh clone's situation, where the *-arch models cannot run
    env: {
      STEMS_MAX_UPLOAD_BYTES: String(4 * 1024 * 1024), STEMS_MAX_DURATION_S: '20', STEMS_SHARED_DIR: path.join(dir, 'no-shared'),
      STEMS_PROGRESS_INTERVAL_MS: '50',
    },
  });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required', '--mute-audio'],
  });
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

async function open(width = 1000): Promise<Page> {
  const page = await browser.newPage({ viewport: { width, height: 900 } });
  await page.goto(`${stack.apiUrl}/`);
  await expect.poll(() => page.textContent('#status')).toBe('Choose a song to split.');
  return page;
}

/** Records every position the progress bar shows, with the stage named next to it. */
async function recordProgress(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { seen: [number, string][] };
    w.seen = [];
    const bar = document.getElementById('progress') as HTMLProgressElement;
    new MutationObserver(() => w.seen.push([bar.value, document.getElementById('stage')!.textContent ?? ''])).observe(bar, { attributes: true });
  });
}

/** What the server reported, poll by poll: stage and that stage's own fraction. */
function serverProgress(page: Page): [string, number][] {
  const reports: [string, number][] = [];
  page.on('response', async (res) => {
    if (res.request().method() !== 'GET' || !/\/jobs\/[^/?]+$/.test(new URL(res.url()).pathname)) return;
    const s = await res.json().catch(() => undefined);
    if (s?.progress) reports.push([s.progress.stage, s.progress.fraction]);
  });
  return reports;
}

function jobRequests(page: Page): Record<string, unknown>[] {
  const bodies: Record<string, unknown>[] = [];
  page.on('request', (r) => { if (r.method() === 'POST' && new URL(r.url()).pathname === '/jobs') bodies.push(r.postDataJSON()); });
  return bodies;
}

describe.skipIf(!hasBrowser)('upload page', () => {
  it('shows the chosen file, runs one job at a time with one monotonic progress bar, then plays, seeks and downloads every stem', async () => {
    const page = await open();
    const models = await page.$$eval('#model option', (o) => o.map((x) => (x as HTMLOptionElement).value));
    expect(models).toContain('tiny');
    expect(await page.$$eval('input[name=stem]', (b) => b.map((x) => (x as HTMLInputElement).value))).toEqual(['vocals', 'accompaniment']);

    // the file's name, size and length are shown before anything is uploaded
    await page.setInputFiles('#file', writeMusicWav(dir, 'browser song.wav', 8));
    await expect.poll(() => page.textContent('#file-duration')).toBe('0:08');
    expect(await page.textContent('#file-name')).toBe('browser song.wav');
    expect(await page.textContent('#file-size')).toBe('2.7 MB');
    await page.selectOption('#format', 'flac');
    await page.selectOption('#quality', 'best');
    await page.screenshot({ path: path.join(shots, '1-start-file-chosen.png'), fullPage: true });

    const posts = jobRequests(page);
    await recordProgress(page);
    await page.click('#start');
    // during the job Split is disabled: more clicks make no more jobs
    await expect.poll(() => page.isDisabled('#start')).toBe(true);
    await page.click('#start', { force: true });
    await page.keyboard.press('Enter');
    await page.waitForSelector('#job:not([hidden])');
    await expect.poll(() => page.textContent('#elapsed')).toMatch(/^· 0:0\d elapsed$/);
    expect(await page.textContent('#status')).toBe('Splitting browser song.wav…');
    expect(await page.isDisabled('#start')).toBe(true);
    await page.waitForSelector('body[data-ready=true]', { timeout: 90_000 });
    await page.screenshot({ path: path.join(shots, '3-done.png'), fullPage: true });
    expect(posts).toHaveLength(1);
    expect(await page.isDisabled('#start')).toBe(false);

    // one bar for the whole job: it never moves back, though each server stage starts again at 0
    const seen = await page.evaluate(() => (window as unknown as { seen: [number, string][] }).seen);
    const values = seen.map(([v]) => v);
    for (let i = 1; i < values.length; i++) expect(values[i], `step ${i}: ${JSON.stringify(seen.slice(i - 1, i + 1))}`).toBeGreaterThanOrEqual(values[i - 1]);
    expect(values.at(-1)).toBe(1);
    const stagesShown = new Set(seen.map(([, s]) => s));
    expect(stagesShown.has('Uploading') && stagesShown.has('Done')).toBe(true);

    expect(await page.textContent('#status')).toMatch(/^Done: browser song\.wav — 2 stems, 8\.0 s$/);
    expect(await page.textContent('#clock')).toBe('0:00 / 0:08');
    expect(await page.$$eval('.stem canvas', (c) => c.map((x) => (x as HTMLCanvasElement).dataset.drawn))).toEqual(['true', 'true']);

    // clicking a waveform moves the playhead: the player's time follows
    const wave = (await page.$('li[data-stem=vocals] .wave'))!;
    const box = (await wave.boundingBox())!;
    await page.mouse.click(box.x + box.width * 0.5, box.y + box.height / 2);
    await expect.poll(async () => Number(await page.getAttribute('#clock', 'data-seconds'))).toBeCloseTo(4, 0);
    expect(await page.textContent('#clock')).toBe('0:04 / 0:08');
    const head = await page.$eval('li[data-stem=accompaniment] .playhead', (e) => (e as HTMLElement).style.left);
    expect(parseFloat(head)).toBeCloseTo(50, 0);
    // dragging seeks too
    await page.mouse.move(box.x + box.width * 0.25, box.y + 5);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.75, box.y + 5, { steps: 4 });
    await page.mouse.up();
    await expect.poll(async () => Number(await page.getAttribute('#clock', 'data-seconds'))).toBeCloseTo(6, 0);
    // and the keyboard: a focused waveform is a slider
    await page.focus('li[data-stem=vocals] .wave');
    await page.keyboard.press('Home');
    await expect.poll(() => page.getAttribute('li[data-stem=vocals] .wave', 'aria-valuenow')).toBe('0.0');
    await page.keyboard.press('ArrowRight');
    await expect.poll(() => page.getAttribute('li[data-stem=vocals] .wave', 'aria-valuetext')).toBe('0:05 of 0:08');

    // solo, mute and volume are labelled controls that change state
    await page.click('button[aria-label="Solo vocals"]');
    expect(await page.getAttribute('button[aria-label="Solo vocals"]', 'aria-pressed')).toBe('true');
    await page.click('button[aria-label="Mute accompaniment"]');
    expect(await page.getAttribute('button[aria-label="Mute accompaniment"]', 'aria-pressed')).toBe('true');
    await page.fill('input[aria-label="vocals volume"]', '0.5');

    // playing advances the shared clock (from the seek position); pause stops it
    await page.click('#stop');
    await page.click('#play');
    await expect.poll(() => page.textContent('#play')).toBe('Pause');
    await expect.poll(() => page.textContent('#clock'), { timeout: 5000 }).not.toBe('0:00 / 0:08');
    await page.click('#play');
    await expect.poll(() => page.textContent('#play')).toBe('Play');

    // a stem downloaded through its link decodes to the song's length
    const href = (await page.getAttribute('a[aria-label="Download vocals"]', 'href'))!;
    const body = await (await page.request.get(href)).body();
    const file = path.join(dir, 'downloaded-vocals.flac');
    writeFileSync(file, body);
    let frames = 0;
    for await (const c of decodeAudio(file, { sampleRate: 44100, maxSeconds: 60 })) frames += c.length / 2;
    expect(frames).toBe(8 * 44100);
    expect(await page.getAttribute('#zip', 'href')).toMatch(/browser%20song-stems\.zip|browser song-stems\.zip/);
    await page.close();
  });

  it('keeps one monotonic bar across stages whose own fractions start again at 0, naming each stage', async () => {
    const page = await open();
    const song = path.join(dir, 'stages.wav');
    writeWav(song, musicLike(18 * 44100), 44100, 2, 's16');
    await page.setInputFiles('#file', song);
    await page.selectOption('#model', 'default'); // a real 4-stem model: separation takes a while
    await page.selectOption('#format', 'wav32f'); // large stems: saving them takes a while too
    const reports = serverProgress(page);
    await recordProgress(page);
    await page.click('#start');
    // while it separates: the stage, the time so far, and an estimate from the model's measured speed
    await page.waitForFunction(() => document.getElementById('stage')?.textContent === 'Separating', null, { polling: 'raf', timeout: 60_000 });
    expect(await page.textContent('#eta')).toMatch(/^· about \d+:\d\d left$/);
    expect(await page.textContent('#elapsed')).toMatch(/^· \d+:\d\d elapsed$/);
    await page.screenshot({ path: path.join(shots, '2-working.png'), fullPage: true });
    await page.waitForSelector('body[data-ready=true]', { timeout: 90_000 });
    const seen = await page.evaluate(() => (window as unknown as { seen: [number, string][] }).seen);
    const values = seen.map(([v]) => v);
    for (let i = 1; i < values.length; i++) expect(values[i], `step ${i}: ${JSON.stringify(seen.slice(i - 1, i + 1))}`).toBeGreaterThanOrEqual(values[i - 1]);
    expect(values.at(-1)).toBe(1);
    // the server's own fractions went back down at a stage change (what used to pull the bar back)
    const drops = reports.filter(([, f], i) => i > 0 && f < reports[i - 1][1]);
    expect(drops.length, `server reports ${JSON.stringify(reports)}`).toBeGreaterThan(0);
    const stages = [...new Set(seen.map(([, st]) => st))];
    expect(stages).toEqual(expect.arrayContaining(['Uploading', 'Separating', 'Saving the stems', 'Done']));
    expect(stages.indexOf('Separating')).toBeLessThan(stages.indexOf('Saving the stems'));
    await page.close();
  });

  it('offers only models that can run here, each with a one-line description', async () => {
    const page = await open();
    const options = await page.$$eval('#model option', (o) => o.map((x) => (x as HTMLOptionElement).value));
    expect(options).toEqual(['tiny', 'default']);
    expect(options.some((id) => id.endsWith('-arch'))).toBe(false);
    await page.selectOption('#model', 'default');
    expect(await page.textContent('#model-description')).toMatch(/^4 stems \(vocals, drums, bass, other\) · modest quality .* · ~24× real time$/);
    expect(await page.$$eval('input[name=stem]', (b) => b.map((x) => (x as HTMLInputElement).value))).toEqual(['vocals', 'drums', 'bass', 'other']);
    await page.close();
    // the same list where the shared folder is present does offer the arch model (the filter is not blanket)
    if (existsSync(path.join(realShared, 'models', 'spleeter-2stems-arch', 'unpack.sh'))) {
      const before = process.env.STEMS_SHARED_DIR;
      process.env.STEMS_SHARED_DIR = realShared;
      try {
        expect((await availableModels()).map((m) => m.id)).toContain('spleeter-2stems-arch');
      } finally {
        process.env.STEMS_SHARED_DIR = before;
      }
    }
  });

  it('explains, and does not split, when every stem is unticked', async () => {
    const page = await open();
    const posts = jobRequests(page);
    await page.setInputFiles('#file', writeMusicWav(dir, 'none.wav', 1));
    await expect.poll(() => page.isDisabled('#start')).toBe(false);
    await page.uncheck('input[name=stem][value=vocals]');
    await page.uncheck('input[name=stem][value=accompaniment]');
    expect(await page.isDisabled('#start')).toBe(true);
    expect(await page.textContent('#stems-hint')).toBe('Tick at least one stem to split.');
    await page.click('#start', { force: true });
    await page.screenshot({ path: path.join(shots, '8-no-stems.png'), fullPage: true });
    await page.check('input[name=stem][value=vocals]');
    expect(await page.isDisabled('#start')).toBe(false);
    expect(await page.textContent('#stems-hint')).toBe('');
    expect(posts).toHaveLength(0);
    await page.close();
  });

  it('refuses a file that is not audio before uploading anything', async () => {
    const page = await open();
    const text = path.join(dir, 'notes.txt');
    writeFileSync(text, 'hello');
    await page.setInputFiles('#file', text);
    await page.click('#start');
    await expect.poll(() => page.textContent('#status')).toMatch(/notes\.txt is not an audio file/);
    expect(await page.getAttribute('#status', 'class')).toBe('error');
    await page.screenshot({ path: path.join(shots, '4-wrong-type.png'), fullPage: true });
    await page.close();
  });

  it('refuses a file over the size limit, and one over the duration limit, before uploading', async () => {
    const page = await open();
    await page.setInputFiles('#file', writeMusicWav(dir, 'big.wav', 30)); // 10.6 MB of float WAV
    await page.click('#start');
    await expect.poll(() => page.textContent('#status')).toMatch(/big\.wav is 10 MB; the limit is 4 MB/);
    const long = ffmpegFile(writeMusicWav(dir, 'long-src.wav', 25), path.join(dir, 'long.wav'), ['-ac', '1', '-ar', '8000', '-c:a', 'pcm_s16le']);
    await page.setInputFiles('#file', long);
    await page.click('#start');
    await expect.poll(() => page.textContent('#status')).toMatch(/long\.wav lasts 25 s; the limit is 20 s/);
    await page.close();
  });

  it('offers a retry when the connection drops during the upload, and the retry completes', async () => {
    const page = await open();
    let dropped = 0;
    await page.route(`${stack.s3Endpoint}/**`, async (route) => {
      if (route.request().method() === 'POST' && dropped++ === 0) return route.abort('internetdisconnected');
      return route.continue();
    });
    await page.setInputFiles('#file', writeMusicWav(dir, 'flaky.wav', 2));
    await page.click('#start');
    await expect.poll(() => page.textContent('#status')).toMatch(/Upload interrupted/);
    expect(await page.isVisible('#retry')).toBe(true);
    expect(await page.isDisabled('#start')).toBe(false); // nothing runs now: retry, or split another file
    await page.screenshot({ path: path.join(shots, '6-upload-interrupted.png'), fullPage: true });
    await page.click('#retry');
    await page.waitForSelector('body[data-ready=true]', { timeout: 60_000 });
    expect(await page.textContent('#status')).toMatch(/^Done: flaky\.wav — 2 stems, 2\.0 s$/);
    expect(dropped).toBe(2);
    await page.close();
  });

  it('retries an expired upload form with the options the user chose (phone width)', async () => {
    const page = await open(375);
    const posts = jobRequests(page);
    // the first form is about to expire: the page's margin treats it as expired by the time of the retry
    let first = true;
    await page.route(`${stack.apiUrl}/jobs`, async (route) => {
      const res = await route.fetch();
      const body = await res.json();
      if (first) body.upload.expiresAt = new Date(Date.now() + 10_600).toISOString();
      first = false;
      await route.fulfill({ response: res, json: body });
    });
    let dropped = 0;
    await page.route(`${stack.s3Endpoint}/**`, async (route) => {
      if (route.request().method() === 'POST' && dropped++ === 0) return route.abort('internetdisconnected');
      return route.continue();
    });
    await page.setInputFiles('#file', writeMusicWav(dir, 'expiring.wav', 2));
    await page.uncheck('input[name=stem][value=accompaniment]');
    await page.selectOption('#format', 'mp3');
    await page.selectOption('#rate', 'source');
    await page.click('#start');
    await expect.poll(() => page.textContent('#status')).toMatch(/Upload interrupted/);
    await page.waitForTimeout(1000);
    await page.click('#retry');
    await page.waitForSelector('body[data-ready=true]', { timeout: 60_000 });
    await page.screenshot({ path: path.join(shots, '7-done-phone.png'), fullPage: true });
    expect(posts).toHaveLength(2);
    const chosen = { model: 'tiny', stems: ['vocals'], format: 'mp3', sampleRate: 'source', quality: 'fast' };
    expect(posts[0].options).toEqual(chosen);
    expect(posts[1].options).toEqual(chosen);
    expect(await page.textContent('#status')).toBe('Done: expiring.wav — 1 stem, 2.0 s');
    // and the job that ran honoured them: one mp3 stem
    expect(await page.$$eval('.stem', (l) => l.map((x) => (x as HTMLElement).dataset.stem))).toEqual(['vocals']);
    expect(await page.getAttribute('a[aria-label="Download vocals"]', 'href')).toMatch(/vocals\.mp3/);
    await page.close();
  });

  it('shows why a separation failed, on a phone-sized screen', async () => {
    const page = await open(375);
    const junk = path.join(dir, 'broken.mp3');
    writeFileSync(junk, Buffer.from(Array.from({ length: 20000 }, (_, i) => (i * 7919) % 256)));
    await page.setInputFiles('#file', junk);
    await page.click('#start');
    await expect.poll(() => page.textContent('#status'), { timeout: 30_000 }).toMatch(/Separation failed: broken\.mp3 is not an audio file/);
    expect(await page.isDisabled('#start')).toBe(false);
    expect(await page.isVisible('#progress')).toBe(false);
    await page.screenshot({ path: path.join(shots, '5-failed-phone.png'), fullPage: true });
    await page.close();
  });
});
