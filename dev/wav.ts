/** Minimal WAV reading/writing for tests and benchmarks (float32 and PCM16, interleaved). */
import { readFileSync, writeFileSync } from 'node:fs';

export interface Wav { sampleRate: number; channels: number; data: Float32Array }

export function readWav(file: string): Wav {
  const b = readFileSync(file);
  let pos = 12;
  let fmt = 0, channels = 0, rate = 0, bits = 0;
  while (pos + 8 <= b.length) {
    const id = b.toString('ascii', pos, pos + 4);
    const size = b.readUInt32LE(pos + 4);
    const body = pos + 8;
    if (id === 'fmt ') {
      fmt = b.readUInt16LE(body); channels = b.readUInt16LE(body + 2); rate = b.readUInt32LE(body + 4); bits = b.readUInt16LE(body + 14);
      if (fmt === 0xfffe) fmt = b.readUInt16LE(body + 24);
    } else if (id === 'data') {
      const end = Math.min(b.length, body + size);
      const n = Math.floor((end - body) / (bits / 8));
      const data = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const o = body + i * (bits / 8);
        if (fmt === 3 && bits === 32) data[i] = b.readFloatLE(o);
        else if (fmt === 1 && bits === 16) data[i] = b.readInt16LE(o) / 32768;
        else if (fmt === 1 && bits === 24) data[i] = b.readIntLE(o, 3) / 8388608;
        else throw new Error(`unsupported wav format ${fmt}/${bits}`);
      }
      return { sampleRate: rate, channels, data };
    }
    pos = body + size + (size & 1);
  }
  throw new Error(`${file}: no data chunk`);
}

export function writeWav(file: string, data: Float32Array, sampleRate: number, channels: number, format: 'f32' | 's16' = 'f32'): void {
  const bps = format === 'f32' ? 4 : 2;
  const h = Buffer.alloc(44);
  h.write('RIFF', 0); h.writeUInt32LE(36 + data.length * bps, 4); h.write('WAVEfmt ', 8);
  h.writeUInt32LE(16, 16); h.writeUInt16LE(format === 'f32' ? 3 : 1, 20); h.writeUInt16LE(channels, 22);
  h.writeUInt32LE(sampleRate, 24); h.writeUInt32LE(sampleRate * channels * bps, 28); h.writeUInt16LE(channels * bps, 32);
  h.writeUInt16LE(bps * 8, 34); h.write('data', 36); h.writeUInt32LE(data.length * bps, 40);
  const body = Buffer.alloc(data.length * bps);
  for (let i = 0; i < data.length; i++) {
    if (format === 'f32') body.writeFloatLE(data[i], i * 4);
    else body.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(data[i] * 32767))), i * 2);
  }
  writeFileSync(file, Buffer.concat([h, body]));
}

/** SDR in dB of `est` against `ref` over [from, to) (interleaved arrays, same layout). */
export function sdr(ref: Float32Array, est: Float32Array, from = 0, to = Math.min(ref.length, est.length)): number {
  let num = 0, den = 0;
  for (let i = from; i < to; i++) {
    num += ref[i] * ref[i];
    const d = ref[i] - est[i];
    den += d * d;
  }
  return 10 * Math.log10(num / Math.max(den, 1e-30));
}

export function peak(x: Float32Array): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]));
  return m;
}
