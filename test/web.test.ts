/**
 * The upload page end to end in a real browser (Debian's chromium driven by playwright-core)
 * against the local stack: upload a generated file, wait for the stems, use the players, fetch a
 * download, and see the errors a user can act on. Screenshots go to test-artifacts/web/.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAudio } from '../layers/audio/decode.js';
import type { LocalStack } from '../local/stack.js';
import { pageConfig } from '../local/page-config.js';
import { startTestStack } from './helpers/local.js';
import { tmpDir } from './helpers/models.js';
import { hasPrerequisite } from './helpers/prerequisites.js';
import { ffmpeg as ffmpegFile, writeMusicWav } from './helpers/signals.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const shots = path.resolve('test-artifacts', 'web');
const hasBrowser = hasPrerequisite(existsSync(CHROMIUM), `no browser at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);

let stack: LocalStack;
let browser: Browser;
const dir = tmpDir('web');

beforeAll(async () => {
  if (!hasBrowser) return;
  mkdirSync(shots, { recursive: true });
  await build({ configFile: path.resolve('web/vite.config.ts'), logLevel: 'warn' });
  stack = await startTestStack({
    site: { dir: path.resolve('dist/web'), generated: { '/config.json': pageConfig } },
    env: { STEMS_MAX_UPLOAD_BYTES: String(4 * 1024 * 1024), STEMS_MAX_DURATION_S: '20' },
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

describe.skipIf(!hasBrowser)('upload page', () => {
  it('uploads a song, shows progress, then plays and downloads every stem', async () => {
    const page = await open();
    await page.screenshot({ path: path.join(shots, '1-start.png'), fullPage: true });
    expect(await page.$$eval('#model option', (o) => o.map((x) => (x as HTMLOptionElement).value))).toContain('tiny');
    expect(await page.$$eval('input[name=stem]', (b) => b.map((x) => (x as HTMLInputElement).value))).toEqual(['vocals', 'accompaniment']);

    await page.setInputFiles('#file', writeMusicWav(dir, 'browser song.wav', 8));
    await page.selectOption('#format', 'flac');
    await page.selectOption('#quality', 'best');
    await page.click('#start');
    await page.waitForSelector('#progress:not([hidden])');
    await page.screenshot({ path: path.join(shots, '2-working.png'), fullPage: true });
    await page.waitForSelector('body[data-ready=true]', { timeout: 90_000 });
    await page.screenshot({ path: path.join(shots, '3-done.png'), fullPage: true });

    expect(await page.textContent('#status')).toMatch(/^Done: browser song\.wav — 2 stems, 8\.0 s$/);
    expect(await page.$$eval('.stem canvas', (c) => c.map((x) => (x as HTMLCanvasElement).dataset.drawn))).toEqual(['true', 'true']);

    // solo, mute and volume are labelled controls that change state
    await page.click('button[aria-label="Solo vocals"]');
    expect(await page.getAttribute('button[aria-label="Solo vocals"]', 'aria-pressed')).toBe('true');
    await page.click('button[aria-label="Mute accompaniment"]');
    expect(await page.getAttribute('button[aria-label="Mute accompaniment"]', 'aria-pressed')).toBe('true');
    await page.fill('input[aria-label="vocals volume"]', '0.5');

    // playing advances the shared clock; pause stops it
    await page.click('#play');
    await expect.poll(() => page.textContent('#play')).toBe('Pause');
    await expect.poll(() => page.textContent('#clock'), { timeout: 5000 }).not.toBe('0:00');
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
    await page.screenshot({ path: path.join(shots, '6-upload-interrupted.png'), fullPage: true });
    await page.click('#retry');
    await page.waitForSelector('body[data-ready=true]', { timeout: 60_000 });
    expect(await page.textContent('#status')).toMatch(/^Done: flaky\.wav/);
    expect(dropped).toBe(2);
    await page.close();
  });

  it('shows why a separation failed, on a phone-sized screen', async () => {
    const page = await open(375);
    const junk = path.join(dir, 'broken.mp3');
    writeFileSync(junk, Buffer.from(Array.from({ length: 20000 }, (_, i) => (i * 7919) % 256)));
    await page.setInputFiles('#file', junk);
    await page.click('#start');
    await expect.poll(() => page.textContent('#status'), { timeout: 30_000 }).toMatch(/Separation failed: broken\.mp3 is not an audio file/);
    await page.screenshot({ path: path.join(shots, '5-failed-phone.png'), fullPage: true });
    await page.close();
  });
});
