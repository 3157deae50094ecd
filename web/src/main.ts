/** The page: choose a file and options, upload, watch progress, then play and download the stems. */
import { type ApiError, createJob, getStatus, loadConfig, upload, type JobStatus, type PageConfig, type Upload } from './api.js';
import { drawWaveform, Mixer } from './mixer.js';
import { contentTypeForName, type OutputFormatId, type Quality, type SampleRatePolicy } from '../../layers/contracts/index.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

let config: PageConfig;
let mixer: Mixer | undefined;
let pending: { file: File; contentType: string; jobId: string; upload: Upload } | undefined;

function say(text: string, error = false): void {
  $('status').textContent = text;
  $('status').classList.toggle('error', error);
}

function progress(fraction: number | undefined): void {
  const bar = $<HTMLProgressElement>('progress');
  bar.hidden = fraction === undefined;
  if (fraction !== undefined) bar.value = fraction;
}

function contentTypeOf(file: File): string | undefined {
  if (file.type.startsWith('audio/')) return file.type;
  return contentTypeForName(file.name);
}

const mb = (n: number) => `${(n / 1024 / 1024).toFixed(0)} MB`;
const duration = (s: number) => (s < 120 ? `${Math.round(s)} s` : `${Math.round(s / 60)} min`);

/** Duration from the browser's own decoder, to refuse songs that are too long before uploading. */
function durationOf(file: File): Promise<number | undefined> {
  return new Promise((resolve) => {
    const a = new Audio();
    const url = URL.createObjectURL(file);
    const done = (d: number | undefined) => { URL.revokeObjectURL(url); resolve(d); };
    a.preload = 'metadata';
    a.onloadedmetadata = () => done(Number.isFinite(a.duration) ? a.duration : undefined);
    a.onerror = () => done(undefined);
    setTimeout(() => done(undefined), 5000);
    a.src = url;
  });
}

async function check(file: File): Promise<string | undefined> {
  const type = contentTypeOf(file);
  if (!type) return `${file.name} is not an audio file (use mp3, wav, flac, ogg, opus, m4a, aiff)`;
  if (file.size > config.maxUploadBytes) return `${file.name} is ${mb(file.size)}; the limit is ${mb(config.maxUploadBytes)}`;
  const seconds = await durationOf(file);
  if (seconds !== undefined && seconds > config.maxDurationSeconds) {
    return `${file.name} lasts ${duration(seconds)}; the limit is ${duration(config.maxDurationSeconds)}`;
  }
  return undefined;
}

function renderModels(): void {
  const select = $<HTMLSelectElement>('model');
  select.replaceChildren(...config.models.map((m) => new Option(m.id, m.id, m.default, m.default)));
  renderStems();
}

function renderStems(): void {
  const model = config.models.find((m) => m.id === $<HTMLSelectElement>('model').value);
  const set = $('stems');
  set.replaceChildren(Object.assign(document.createElement('legend'), { textContent: 'Stems' }));
  for (const stem of model?.stems ?? []) {
    const label = document.createElement('label');
    const box = Object.assign(document.createElement('input'), { type: 'checkbox', name: 'stem', value: stem, checked: true });
    label.append(box, stem);
    set.append(label);
  }
}

async function start(file: File): Promise<void> {
  $('results').hidden = true;
  mixer?.stop();
  const problem = await check(file);
  if (problem) return say(problem, true);
  const contentType = contentTypeOf(file)!;
  const stems = [...document.querySelectorAll<HTMLInputElement>('input[name=stem]:checked')].map((b) => b.value);
  try {
    say(`Creating a job for ${file.name}…`);
    const job = await createJob(config.apiUrl, file, contentType, {
      model: $<HTMLSelectElement>('model').value, stems, format: $<HTMLSelectElement>('format').value as OutputFormatId, sampleRate: $<HTMLSelectElement>('rate').value as SampleRatePolicy,
      quality: $<HTMLSelectElement>('quality').value as Quality,
    });
    pending = { file, contentType, jobId: job.jobId, upload: job.upload };
    await send();
  } catch (err) {
    say((err as Error).message, true);
    progress(undefined);
  }
}

/** Uploads the pending file; a lost connection offers a retry (with a new job if the form expired). */
async function send(): Promise<void> {
  const p = pending!;
  $('retry').hidden = true;
  try {
    if (Date.parse(p.upload.expiresAt) < Date.now() + 10_000) {
      const job = await createJob(config.apiUrl, p.file, p.contentType, {});
      Object.assign(p, { jobId: job.jobId, upload: job.upload });
    }
    await upload(p.upload, p.file, p.contentType, (f) => {
      progress(f);
      say(`Uploading ${p.file.name}… ${Math.round(f * 100)}%`);
    });
    void poll(p.jobId);
  } catch (err) {
    const e = err as ApiError;
    say(e.code === 'NETWORK' ? `Upload interrupted: ${e.message}.` : e.message, true);
    $('retry').hidden = e.code !== 'NETWORK';
  }
}

const STAGES: Record<string, string> = {
  probe: 'Reading the file', decode: 'Decoding', separate: 'Separating', encode: 'Encoding', package: 'Packaging',
  upload: 'Saving the stems', done: 'Done',
};

async function poll(id: string): Promise<void> {
  let s: JobStatus;
  try {
    s = await getStatus(config.apiUrl, id);
  } catch (err) {
    say(`Lost contact with the server (${(err as Error).message}); still trying…`, true);
    setTimeout(() => void poll(id), 3000);
    return;
  }
  if (s.state === 'failed') {
    progress(undefined);
    return say(`Separation failed: ${s.error?.message ?? 'unknown error'}`, true);
  }
  if (s.state !== 'done') {
    const stage = s.progress ? STAGES[s.progress.stage] ?? s.progress.stage : s.state === 'retrying' ? 'Retrying' : 'Waiting for a worker';
    progress(s.progress?.fraction ?? 0);
    say(`${stage}… ${Math.round((s.progress?.fraction ?? 0) * 100)}%`);
    setTimeout(() => void poll(id), 1000);
    return;
  }
  progress(1);
  say(`Done: ${s.file}. Loading the players…`);
  await showResults(s);
}

async function showResults(s: JobStatus): Promise<void> {
  mixer = new Mixer();
  const list = $('stem-list');
  list.replaceChildren();
  $<HTMLAnchorElement>('zip').href = s.downloads!.zip;
  for (const d of s.downloads!.stems) {
    const li = document.createElement('li');
    li.className = 'stem';
    li.dataset.stem = d.stem;
    li.innerHTML = `<header><h2></h2>
      <button type="button" class="solo" aria-pressed="false">Solo</button>
      <button type="button" class="mute" aria-pressed="false">Mute</button>
      <label>Volume <input type="range" class="volume" min="0" max="1.5" step="0.05" value="1"></label>
      <a class="download" download>Download</a></header><canvas role="img"></canvas>`;
    li.querySelector('h2')!.textContent = d.stem;
    li.querySelector('a')!.href = d.url;
    li.querySelector('a')!.setAttribute('aria-label', `Download ${d.stem}`);
    li.querySelector('.solo')!.setAttribute('aria-label', `Solo ${d.stem}`);
    li.querySelector('.mute')!.setAttribute('aria-label', `Mute ${d.stem}`);
    li.querySelector('.volume')!.setAttribute('aria-label', `${d.stem} volume`);
    li.querySelector('canvas')!.setAttribute('aria-label', `Waveform of ${d.stem}`);
    list.append(li);
  }
  $('results').hidden = false;
  try {
    for (const d of s.downloads!.stems) {
      const res = await fetch(d.url);
      if (!res.ok) throw new Error(`could not load ${d.stem} (HTTP ${res.status})`);
      const track = await mixer.add(d.stem, await res.arrayBuffer());
      const li = list.querySelector<HTMLLIElement>(`li[data-stem="${CSS.escape(d.stem)}"]`)!;
      drawWaveform(li.querySelector('canvas')!, track.buffer);
      const toggle = (cls: 'solo' | 'mute', key: 'soloed' | 'muted') => {
        const b = li.querySelector<HTMLButtonElement>(`.${cls}`)!;
        b.onclick = () => {
          track[key] = !track[key];
          b.setAttribute('aria-pressed', String(track[key]));
          mixer!.applyGains();
        };
      };
      toggle('solo', 'soloed');
      toggle('mute', 'muted');
      li.querySelector<HTMLInputElement>('.volume')!.oninput = (e) => {
        track.volume = Number((e.target as HTMLInputElement).value);
        mixer!.applyGains();
      };
    }
    say(`Done: ${s.file} — ${mixer.tracks.length} stems, ${mixer.duration.toFixed(1)} s`);
    document.body.dataset.ready = 'true';
  } catch (err) {
    say(`The stems are ready to download, but the players failed: ${(err as Error).message}`, true);
  }
}

function tick(): void {
  if (mixer) {
    const t = mixer.position;
    $('clock').textContent = `${Math.floor(t / 60)}:${String(Math.floor(t % 60)).padStart(2, '0')}`;
    $('play').textContent = mixer.playing ? 'Pause' : 'Play';
  }
  requestAnimationFrame(tick);
}

async function init(): Promise<void> {
  try {
    config = await loadConfig();
  } catch (err) {
    return say((err as Error).message, true);
  }
  renderModels();
  const input = $<HTMLInputElement>('file');
  const startButton = $<HTMLButtonElement>('start');
  input.onchange = () => { startButton.disabled = !input.files?.length; };
  $<HTMLSelectElement>('model').onchange = renderStems;
  $<HTMLFormElement>('job-form').onsubmit = (e) => {
    e.preventDefault();
    if (input.files?.[0]) void start(input.files[0]);
  };
  const drop = $('drop');
  drop.ondragover = (e) => { e.preventDefault(); drop.classList.add('over'); };
  drop.ondragleave = () => drop.classList.remove('over');
  drop.ondrop = (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const f = e.dataTransfer?.files[0];
    if (f) void start(f);
  };
  $('retry').onclick = () => void send();
  $('play').onclick = () => { if (mixer) void (mixer.playing ? mixer.pause() : mixer.play()); };
  $('stop').onclick = () => mixer?.stop();
  requestAnimationFrame(tick);
  say('Choose a song to split.');
}

void init();
