/**
 * Plays the stems in sync with Web Audio: one source per stem started at the same instant,
 * each through its own gain (volume, mute, solo). Also draws a waveform thumbnail per stem.
 */
export interface Track { name: string; buffer: AudioBuffer; gain: GainNode; volume: number; muted: boolean; soloed: boolean }

export class Mixer {
  readonly ctx = new AudioContext();
  readonly tracks: Track[] = [];
  private sources: AudioBufferSourceNode[] = [];
  private startedAt = 0;
  private offset = 0;
  playing = false;

  async add(name: string, data: ArrayBuffer): Promise<Track> {
    const buffer = await this.ctx.decodeAudioData(data);
    const gain = this.ctx.createGain();
    gain.connect(this.ctx.destination);
    const t: Track = { name, buffer, gain, volume: 1, muted: false, soloed: false };
    this.tracks.push(t);
    return t;
  }

  get duration(): number {
    return Math.max(0, ...this.tracks.map((t) => t.buffer.duration));
  }

  get position(): number {
    return this.playing ? Math.min(this.duration, this.offset + this.ctx.currentTime - this.startedAt) : this.offset;
  }

  /** Solo wins over mute; otherwise each track plays at its volume unless muted. */
  applyGains(): void {
    const anySolo = this.tracks.some((t) => t.soloed);
    for (const t of this.tracks) {
      const audible = anySolo ? t.soloed : !t.muted;
      t.gain.gain.setTargetAtTime(audible ? t.volume : 0, this.ctx.currentTime, 0.01);
    }
  }

  async play(): Promise<void> {
    if (this.playing) return;
    await this.ctx.resume();
    const at = this.ctx.currentTime + 0.05;
    this.sources = this.tracks.map((t) => {
      const s = this.ctx.createBufferSource();
      s.buffer = t.buffer;
      s.connect(t.gain);
      s.start(at, this.offset);
      return s;
    });
    this.sources[0]?.addEventListener('ended', () => { if (this.playing && this.position >= this.duration - 0.1) this.stop(); });
    this.startedAt = at;
    this.playing = true;
  }

  /** Moves the playhead; playback, if on, carries on from there. */
  seek(seconds: number): void {
    const t = Math.min(Math.max(0, seconds), this.duration);
    if (this.playing) {
      this.pause();
      this.offset = t;
      void this.play();
    } else {
      this.offset = t;
    }
  }

  pause(): void {
    if (!this.playing) return;
    this.offset = this.position;
    this.playing = false;
    for (const s of this.sources) s.stop();
  }

  stop(): void {
    this.pause();
    this.offset = 0;
  }
}

/** Peak envelope of the buffer (both channels) drawn into the canvas. */
export function drawWaveform(canvas: HTMLCanvasElement, buffer: AudioBuffer): void {
  const ratio = window.devicePixelRatio || 1;
  canvas.width = canvas.clientWidth * ratio || 600;
  canvas.height = canvas.clientHeight * ratio || 56;
  const g = canvas.getContext('2d')!;
  const w = canvas.width;
  const h = canvas.height;
  const chans = Array.from({ length: buffer.numberOfChannels }, (_, c) => buffer.getChannelData(c));
  const per = Math.max(1, Math.floor(buffer.length / w));
  g.clearRect(0, 0, w, h);
  g.fillStyle = '#3b4fd8';
  for (let x = 0; x < w; x++) {
    let peak = 0;
    for (const data of chans) for (let i = x * per, end = Math.min(buffer.length, i + per); i < end; i++) peak = Math.max(peak, Math.abs(data[i]));
    const bar = Math.max(1, Math.min(1, peak) * h);
    g.fillRect(x, (h - bar) / 2, 1, bar);
  }
  canvas.dataset.drawn = 'true';
}
