/**
 * The page: choose a file (its name, size and length shown) and options, split it — one job at a
 * time, Split disabled until it ends — watch one progress bar with the stage, elapsed time and
 * time left, then play (seek on the waveforms) and download the stems.
 */
import { contentTypeForName, type OutputFormatId, type Quality, type SampleRatePolicy } from '../../layers/contracts/index.js';
import { type ApiError, createJob, getStatus, loadConfig, upload, type JobOptions, type JobStatus, type PageConfig, type Upload } from './api.js';
import { drawWaveform, Mixer } from './mixer.js';
import { clock, JobProgress, STAGE_NAMES } from './progress.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

let config: PageConfig;
let mixer: Mixer | undefined;
let chosen: { file: File; seconds: Promise<number | undefined> } | undefined;
/** The job in flight: its file and options are kept so a retry (even with a new form) sends the same. */
let pending: { file: File; contentType: string; options: JobOptions; jobId: string; upload: Upload; progress: JobProgress } | undefined;
let busy = false;

function say(text: string, error = false): void {
  $('status').textContent = text;
  $('status').classList.toggle('error', error);
}

/** Split is available when a file is chosen, at least one stem is ticked and no job is running. */
function refreshStart(): void {
  const noStems = selectedStems().length === 0;
  $('stems-hint').textContent = noStems ? 'Tick at least one stem to split.' : '';
  $<HTMLButtonElement>('start').disabled = busy || !chosen || noStems;
  $<HTMLButtonElement>('start').textContent = busy ? 'Splitting…' : 'Split';
}

function setBusy(value: boolean): void {
  busy = value;
  document.body.dataset.busy = String(value);
  refreshStart();
}

function contentTypeOf(file: File): string | undefined {
  if (file.type.startsWith('audio/')) return file.type;
  return contentTypeForName(file.name);
}

const mb = (n: number) => `${(n / 1024 / 1024).toFixed(0)} MB`;
const size = (n: number) => (n < 1024 * 1024 ? `${Math.max(1, Math.round(n / 1024))} KB` : `${(n / 1024 / 1024).toFixed(1)} MB`);
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

/** Shows the chosen file (name, size, length) before anything is uploaded. */
async function choose(file: File): Promise<void> {
  const seconds = contentTypeOf(file) ? durationOf(file) : Promise.resolve(undefined);
  chosen = { file, seconds };
  $('file-info').hidden = false;
  $('file-name').textContent = file.name;
  $('file-size').textContent = size(file.size);
  $('file-duration').textContent = '';
  $('drop-text').textContent = 'Chosen — drop another file or choose again to change it';
  refreshStart();
  const s = await seconds;
  if (chosen?.file !== file) return;
  $('file-duration').textContent = s === undefined ? '' : clock(s);
  document.body.dataset.chosen = 'true';
  if (!busy) say(`Ready to split ${file.name}.`);
}

function check(file: File, seconds: number | undefined): string | undefined {
  if (file.size === 0) return `${file.name} is empty`;
  if (!contentTypeOf(file)) return `${file.name} is not an audio file (use mp3, wav, flac, ogg, opus, m4a, aiff)`;
  if (file.size > config.maxUploadBytes) return `${file.name} is ${mb(file.size)}; the limit is ${mb(config.maxUploadBytes)}`;
  if (seconds !== undefined && seconds > config.maxDurationSeconds) {
    return `${file.name} lasts ${duration(seconds)}; the limit is ${duration(config.maxDurationSeconds)}`;
  }
  return undefined;
}

function renderModels(): void {
  const select = $<HTMLSelectElement>('model');
  select.replaceChildren(...config.models.map((m) => new Option(m.id, m.id, m.default, m.default)));
  renderModel();
}

function currentModel() {
  return config.models.find((m) => m.id === $<HTMLSelectElement>('model').value);
}

function renderModel(): void {
  const model = currentModel();
  $('model-description').textContent = model?.description ?? '';
  const set = $('stems');
  set.replaceChildren(Object.assign(document.createElement('legend'), { textContent: 'Stems' }));
  for (const stem of model?.stems ?? []) {
    const label = document.createElement('label');
    const box = Object.assign(document.createElement('input'), { type: 'checkbox', name: 'stem', value: stem, checked: true });
    box.onchange = refreshStart;
    label.append(box, stem);
    set.append(label);
  }
  refreshStart();
}

function selectedStems(): string[] {
  return [...document.querySelectorAll<HTMLInputElement>('input[name=stem]:checked')].map((b) => b.value);
}

function showProgress(p: JobProgress, stage: string, fraction: number): void {
  const value = p.update(stage, fraction);
  $('job').hidden = false;
  $<HTMLProgressElement>('progress').value = value;
  $('stage').textContent = STAGE_NAMES[stage] ?? stage;
  $('percent').textContent = `${Math.round(value * 100)}%`;
  tickJobClock();
}

function tickJobClock(): void {
  const p = pending?.progress;
  if (!p) return;
  $('elapsed').textContent = `· ${clock(p.elapsedSeconds())} elapsed`;
  const left = p.remainingSeconds();
  $('eta').textContent = left === undefined ? '' : left === 0 ? '' : `· about ${clock(Math.max(1, left))} left`;
}

async function start(): Promise<void> {
  if (busy || !chosen) return;
  const { file } = chosen;
  const stems = selectedStems();
  if (stems.length === 0) return say('Tick at least one stem: with none ticked there is nothing to split.', true);
  setBusy(true);
  $('retry').hidden = true;
  const seconds = await chosen.seconds;
  const problem = check(file, seconds);
  if (problem) {
    setBusy(false);
    return say(problem, true);
  }
  $('results').hidden = true;
  mixer?.stop();
  delete document.body.dataset.ready;
  const contentType = contentTypeOf(file)!;
  const model = currentModel();
  const options: JobOptions = {
    model: $<HTMLSelectElement>('model').value, stems, format: $<HTMLSelectElement>('format').value as OutputFormatId,
    sampleRate: $<HTMLSelectElement>('rate').value as SampleRatePolicy, quality: $<HTMLSelectElement>('quality').value as Quality,
  };
  try {
    say(`Creating a job for ${file.name}…`);
    const job = await createJob(config.apiUrl, file, contentType, options);
    pending = { file, contentType, options, jobId: job.jobId, upload: job.upload, progress: new JobProgress(seconds, model?.speed) };
    await send();
  } catch (err) {
    say((err as Error).message, true);
    setBusy(false);
  }
}

/** Uploads the pending file; a lost connection offers a retry (with a new job, same options, if the form expired). */
async function send(): Promise<void> {
  const p = pending!;
  $('retry').hidden = true;
  try {
    if (Date.parse(p.upload.expiresAt) < Date.now() + 10_000) {
      const job = await createJob(config.apiUrl, p.file, p.contentType, p.options);
      Object.assign(p, { jobId: job.jobId, upload: job.upload });
    }
    say(`Splitting ${p.file.name}…`);
    await upload(p.upload, p.file, p.contentType, (f) => showProgress(p.progress, 'uploading', f));
    void poll(p.jobId);
  } catch (err) {
    const e = err as ApiError;
    say(e.code === 'NETWORK' ? `Upload interrupted: ${e.message}.` : e.message, true);
    $('retry').hidden = e.code !== 'NETWORK';
    // nothing is running now: retry this upload, or split something else instead
    setBusy(false);
  }
}

async function poll(id: string): Promise<void> {
  let s: JobStatus;
  try {
    s = await getStatus(config.apiUrl, id);
  } catch (err) {
    say(`Lost contact with the server (${(err as Error).message}); still trying…`, true);
    setTimeout(() => void poll(id), 3000);
    return;
  }
  const p = pending!.progress;
  if (s.state === 'failed') {
    setBusy(false);
    $('job').hidden = true; // the status line says why; a bar stuck mid-way would say otherwise
    return say(`Separation failed: ${s.error?.message ?? 'unknown error'}`, true);
  }
  if (s.state !== 'done') {
    const stage = s.progress?.stage ?? (s.state === 'retrying' ? 'retrying' : 'waiting');
    showProgress(p, stage, s.progress?.fraction ?? 0);
    // a long song cut into segments for many workers: say how far they are
    const seg = s.progress?.segments;
    say(seg && s.progress?.stage === 'separate' ? `Splitting ${s.file} in ${seg.total} segments side by side: ${seg.done} of ${seg.total} done…` : `Splitting ${s.file}…`);
    setTimeout(() => void poll(id), config.pollIntervalMs ?? 1000);
    return;
  }
  showProgress(p, 'done', 1);
  say(`Done: ${s.file}. Loading the players…`);
  setBusy(false);
  await showResults(s);
}

/** A waveform that is also a slider: click or drag seeks, arrow keys step, a line shows the playhead. */
function makeSeekable(wave: HTMLElement, stem: string): void {
  wave.tabIndex = 0;
  wave.setAttribute('role', 'slider');
  wave.setAttribute('aria-label', `Playhead (${stem} waveform)`);
  wave.setAttribute('aria-valuemin', '0');
  const seekAt = (clientX: number) => {
    if (!mixer) return;
    const r = wave.getBoundingClientRect();
    mixer.seek(((clientX - r.left) / r.width) * mixer.duration);
  };
  wave.onpointerdown = (e) => {
    wave.setPointerCapture(e.pointerId);
    seekAt(e.clientX);
    wave.onpointermove = (m) => seekAt(m.clientX);
  };
  wave.onpointerup = (e) => {
    wave.releasePointerCapture(e.pointerId);
    wave.onpointermove = null;
  };
  wave.onkeydown = (e) => {
    if (!mixer) return;
    const to: Record<string, number> = {
      ArrowLeft: mixer.position - 5, ArrowDown: mixer.position - 5, ArrowRight: mixer.position + 5, ArrowUp: mixer.position + 5,
      Home: 0, End: mixer.duration, PageDown: mixer.position - 30, PageUp: mixer.position + 30,
    };
    if (!(e.key in to)) return;
    e.preventDefault();
    mixer.seek(to[e.key]);
  };
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
      <a class="download" download>Download</a></header>
      <div class="wave"><canvas aria-hidden="true"></canvas><div class="playhead"></div></div>`;
    li.querySelector('h2')!.textContent = d.stem;
    li.querySelector('a')!.href = d.url;
    li.querySelector('a')!.setAttribute('aria-label', `Download ${d.stem}`);
    li.querySelector('.solo')!.setAttribute('aria-label', `Solo ${d.stem}`);
    li.querySelector('.mute')!.setAttribute('aria-label', `Mute ${d.stem}`);
    li.querySelector('.volume')!.setAttribute('aria-label', `${d.stem} volume`);
    makeSeekable(li.querySelector<HTMLElement>('.wave')!, d.stem);
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
    const n = mixer.tracks.length;
    say(`Done: ${s.file} — ${n} ${n === 1 ? 'stem' : 'stems'}, ${mixer.duration.toFixed(1)} s`);
    document.body.dataset.ready = 'true';
  } catch (err) {
    say(`The stems are ready to download, but the players failed: ${(err as Error).message}`, true);
  }
}

function tick(): void {
  if (mixer) {
    const t = mixer.position;
    const d = mixer.duration;
    $('clock').textContent = `${clock(Math.floor(t))} / ${clock(d)}`;
    $('clock').dataset.seconds = t.toFixed(2);
    $('play').textContent = mixer.playing ? 'Pause' : 'Play';
    const at = d > 0 ? t / d : 0;
    for (const wave of document.querySelectorAll<HTMLElement>('.wave')) {
      wave.querySelector<HTMLElement>('.playhead')!.style.left = `${(at * 100).toFixed(2)}%`;
      wave.setAttribute('aria-valuemax', d.toFixed(1));
      wave.setAttribute('aria-valuenow', t.toFixed(1));
      wave.setAttribute('aria-valuetext', `${clock(t)} of ${clock(d)}`);
    }
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
  input.onchange = () => { if (input.files?.[0]) void choose(input.files[0]); };
  $<HTMLSelectElement>('model').onchange = renderModel;
  $<HTMLFormElement>('job-form').onsubmit = (e) => {
    e.preventDefault();
    void start();
  };
  const drop = $('drop');
  drop.ondragover = (e) => { e.preventDefault(); drop.classList.add('over'); };
  drop.ondragleave = () => drop.classList.remove('over');
  drop.ondrop = (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const f = e.dataTransfer?.files[0];
    if (f) void choose(f);
  };
  $('retry').onclick = () => {
    if (busy || !pending) return;
    setBusy(true);
    void send();
  };
  $('play').onclick = () => { if (mixer) void (mixer.playing ? mixer.pause() : mixer.play()); };
  $('stop').onclick = () => mixer?.stop();
  setInterval(() => { if (busy) tickJobClock(); }, 1000);
  requestAnimationFrame(tick);
  say('Choose a song to split.');
}

void init();
