/**
 * WAV files written in-process (PCM 16/24-bit, IEEE float 32-bit; stereo), for stems that need
 * no resampling: ffmpeg would only reformat the samples, at the cost of a process per stem and a
 * copy through a pipe. Samples are converted as ffmpeg's own conversion does (round to nearest,
 * saturate; 24-bit is the 32-bit value shifted right by 8), and the header is ffmpeg's layout:
 * plain PCM for 16-bit, WAVE_FORMAT_EXTENSIBLE (front left/right) for 24-bit and float, plus a
 * fact chunk for float. Sizes in the header are filled in by finish().
 */
import { open, type FileHandle } from 'node:fs/promises';

export type WavSampleFormat = 's16' | 's24' | 'f32';

const BYTES: Record<WavSampleFormat, number> = { s16: 2, s24: 3, f32: 4 };
// the typed-array views below are little-endian, as WAV is (every platform Node runs on here)
const KSDATAFORMAT_SUBTYPE_TAIL = Buffer.from([0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71]);

export class WavWriter {
  private readonly bytes: number;
  private readonly header: Buffer;
  private readonly dataSizeAt: number;
  private readonly factAt: number;
  // two conversion buffers: one being written to the file while the next block is converted
  private readonly bufs = [Buffer.alloc(0), Buffer.alloc(0)];
  private cur = 0;
  private pending: Promise<unknown> = Promise.resolve();
  private frames = 0;
  private position: number;

  private constructor(private readonly fh: FileHandle, private readonly format: WavSampleFormat, sampleRate: number) {
    const channels = 2;
    this.bytes = BYTES[format];
    const extensible = format !== 's16';
    const fmtSize = extensible ? 40 : 16;
    const factSize = format === 'f32' ? 12 : 0;
    const h = Buffer.alloc(12 + 8 + fmtSize + factSize + 8);
    h.write('RIFF', 0, 'ascii');
    h.write('WAVEfmt ', 8, 'ascii');
    h.writeUInt32LE(fmtSize, 16);
    h.writeUInt16LE(extensible ? 0xfffe : 1, 20);
    h.writeUInt16LE(channels, 22);
    h.writeUInt32LE(sampleRate, 24);
    h.writeUInt32LE(sampleRate * channels * this.bytes, 28);
    h.writeUInt16LE(channels * this.bytes, 32);
    h.writeUInt16LE(8 * this.bytes, 34);
    if (extensible) {
      h.writeUInt16LE(22, 36); // cbSize
      h.writeUInt16LE(8 * this.bytes, 38); // valid bits
      h.writeUInt32LE(3, 40); // front left | front right
      h.writeUInt32LE(format === 'f32' ? 3 : 1, 44); // subformat: IEEE float or PCM
      KSDATAFORMAT_SUBTYPE_TAIL.copy(h, 48);
    }
    let p = 20 + fmtSize;
    this.factAt = -1;
    if (factSize) {
      h.write('fact', p, 'ascii');
      h.writeUInt32LE(4, p + 4);
      this.factAt = p + 8;
      p += 12;
    }
    h.write('data', p, 'ascii');
    this.dataSizeAt = p + 4;
    this.header = h;
    this.position = h.length;
  }

  static async create(file: string, format: WavSampleFormat, sampleRate: number): Promise<WavWriter> {
    const fh = await open(file, 'w');
    const w = new WavWriter(fh, format, sampleRate);
    await fh.write(w.header, 0, w.header.length, 0);
    return w;
  }

  /**
   * Interleaved stereo, already clamped to [-1, 1] for integer formats. Resolves once the samples
   * are converted and the previous block is on its way to the file (so the caller may reuse its
   * buffer); the file write itself runs behind the caller's next block.
   */
  async write(samples: Float32Array): Promise<void> {
    const n = samples.length;
    const size = n * this.bytes;
    this.cur ^= 1;
    if (this.bufs[this.cur].length < size) this.bufs[this.cur] = Buffer.alloc(size);
    const b = this.bufs[this.cur];
    if (this.format === 'f32') {
      new Float32Array(b.buffer, b.byteOffset, n).set(samples);
    } else if (this.format === 's16') {
      const d = new Int16Array(b.buffer, b.byteOffset, n);
      for (let i = 0; i < n; i++) {
        const v = Math.round(samples[i] * 32768);
        d[i] = Math.max(-32768, Math.min(32767, v));
      }
    } else {
      for (let i = 0, o = 0; i < n; i++, o += 3) {
        const v = Math.max(-2147483648, Math.min(2147483647, Math.round(samples[i] * 2147483648)));
        const q = Math.floor(v / 256);
        b[o] = q & 0xff;
        b[o + 1] = (q >> 8) & 0xff;
        b[o + 2] = (q >> 16) & 0xff;
      }
    }
    await this.pending; // the write from the other buffer (rethrows its error)
    this.pending = this.fh.write(b, 0, size, this.position);
    this.pending.catch(() => {}); // awaited by the next write or finish
    this.position += size;
    this.frames += n >> 1;
  }

  async finish(): Promise<void> {
    await this.pending;
    const dataBytes = this.frames * 2 * this.bytes;
    const h = this.header;
    h.writeUInt32LE(h.length - 8 + dataBytes, 4);
    h.writeUInt32LE(dataBytes, this.dataSizeAt);
    if (this.factAt >= 0) h.writeUInt32LE(this.frames, this.factAt);
    await this.fh.write(h, 0, h.length, 0);
    await this.fh.close();
  }

  async abort(): Promise<void> {
    await this.pending.catch(() => {});
    await this.fh.close().catch(() => {});
  }
}
