/**
 * Multichannel Wiener filtering (the EM algorithm of norbert / Open-Unmix's
 * `openunmix/filtering.py`, `wiener` + `expectation_maximization`): from per-stem magnitude
 * estimates and the mixture's stereo STFT, each stem gets a complex estimate
 *   y_j = v_j R_j Cxx⁻¹ x,   Cxx = √eps·I + Σ_k v_k R_k,
 * with v_j(t,f) the stem's power (mean over channels of |y_j|²) and R_j(f) its 2×2 spatial
 * covariance, re-estimated from the current y_j at each iteration and shared by the frames of
 * one block. Blocks of frames are filtered independently (Open-Unmix's `wiener_win_len`), so
 * memory depends on the block size, not on the song.
 *
 * Differences from the reference that change only rounding: everything runs in float64 on the
 * float32 spectra; covariances are stored as Hermitian (r00, r11 real, r01 complex), which the
 * reference's general complex maths also produces exactly; the gain is applied as
 * v_j R_j (Cxx⁻¹ x) instead of (v_j R_j Cxx⁻¹) x. Fixtures from the reference check this
 * (test/wiener.test.ts).
 *
 * One fit() per block, then apply() per frame: the final filtering pass is done frame by frame
 * while the caller synthesises, so no per-stem complex spectra are ever stored.
 */

export interface WienerSettings {
  /** EM iterations (1 = Open-Unmix's default). 0 means no Wiener filtering (the family's masks). */
  iterations: number;
  /** Start from ratio masks of the estimates (est_j / Σ est) instead of the estimates with the mixture's phase. */
  softmask: boolean;
  /** Add a source for mixture − Σ stems before the EM; its estimate goes to the model's residual stem. */
  residual: boolean;
  /** Frames filtered together (spatial covariances are estimated per block). */
  blockFrames: number;
}

/** As in the reference: `eps` regularises (√eps on Cxx's diagonal) and divisions; estimates are scaled so max |x| <= 10. */
const EPS = 1e-10;
const SCALE_FACTOR = 10;
const REG = Math.sqrt(EPS);

/** Where one block's inputs live: the engine's split layout. */
export interface SpectrumBlock {
  /** Mixture spectra, index (c·stride + t)·nBins + k. */
  re: Float32Array;
  im: Float32Array;
  nBins: number;
  /** Per stem magnitude estimates, index (c·stride + t)·bins + k. */
  est: readonly Float32Array[];
  /** Frames per channel in these arrays. */
  stride: number;
}

export class WienerFilter {
  /** Sources in the EM: the stems, plus the residual source when asked for. */
  readonly sources: number;
  private readonly v: Float64Array; // [t][k][j]
  private readonly R: Float64Array; // [k][j][r00, r11, r01re, r01im]
  private readonly acc: Float64Array; // next R's sums, same layout
  private readonly weight: Float64Array; // [k][j]
  // one bin's source estimates (scaled), reused: [j][y0re, y0im, y1re, y1im]
  private readonly y: Float64Array;
  private scale = 1;
  private block: SpectrumBlock | null = null;
  private first = 0;
  private n = 0;

  constructor(
    private readonly maxFrames: number,
    private readonly bins: number,
    private readonly stems: number,
    readonly settings: WienerSettings,
  ) {
    if (!Number.isInteger(settings.iterations) || settings.iterations < 1) throw new RangeError('Wiener filtering needs iterations >= 1');
    this.sources = stems + (settings.residual ? 1 : 0);
    if (this.sources < 2) throw new RangeError('Wiener filtering needs at least two sources (add the residual source)');
    const J = this.sources;
    this.v = new Float64Array(maxFrames * bins * J);
    this.R = new Float64Array(bins * J * 4);
    this.acc = new Float64Array(bins * J * 4);
    this.weight = new Float64Array(bins * J);
    this.y = new Float64Array(J * 4);
  }

  /** Estimates powers and spatial covariances on frames [first, first + n) and runs all but the last EM pass. */
  fit(block: SpectrumBlock, first: number, n: number): void {
    if (n < 1 || n > this.maxFrames) throw new RangeError(`block of ${n} frames (at most ${this.maxFrames})`);
    this.block = block;
    this.first = first;
    this.n = n;
    const { re, im, nBins, stride } = block;
    const { bins } = this;
    let maxAbs = 0;
    for (let c = 0; c < 2; c++) {
      for (let t = first; t < first + n; t++) {
        const o = (c * stride + t) * nBins;
        for (let k = 0; k < bins; k++) {
          const a = re[o + k], b = im[o + k];
          const m = a * a + b * b;
          if (m > maxAbs) maxAbs = m;
        }
      }
    }
    this.scale = Math.max(1, Math.sqrt(maxAbs) / SCALE_FACTOR);

    this.beginEstimate();
    for (let t = 0; t < n; t++) {
      for (let k = 0; k < bins; k++) {
        this.initialEstimates(t, k);
        this.accumulate(t, k);
      }
    }
    this.endEstimate();
    for (let it = 1; it < this.settings.iterations; it++) {
      this.beginEstimate();
      for (let t = 0; t < n; t++) {
        for (let k = 0; k < bins; k++) {
          this.filterBin(t, k);
          this.accumulate(t, k);
        }
      }
      this.endEstimate();
    }
  }

  /**
   * The last EM pass for one frame of the fitted block (t in [first, first + n)): each stem's
   * filtered spectrum into outRe[s]/outIm[s] at c·nBins + k, k < bins. The residual source's is
   * added to stem `residualStem`, or written to its own outRe[stems]/outIm[stems] when
   * residualStem === stems.
   */
  apply(t: number, outRe: readonly Float32Array[], outIm: readonly Float32Array[], residualStem: number): void {
    const { bins, stems, sources, y, scale } = this;
    const nBins = this.block!.nBins;
    const tt = t - this.first;
    if (tt < 0 || tt >= this.n) throw new RangeError(`frame ${t} is outside the fitted block`);
    for (let k = 0; k < bins; k++) {
      this.filterBin(tt, k);
      for (let s = 0; s < stems; s++) {
        const q = s * 4;
        outRe[s][k] = y[q] * scale;
        outIm[s][k] = y[q + 1] * scale;
        outRe[s][nBins + k] = y[q + 2] * scale;
        outIm[s][nBins + k] = y[q + 3] * scale;
      }
      if (sources > stems) {
        const q = stems * 4, r = residualStem;
        if (r === stems) { outRe[r][k] = 0; outIm[r][k] = 0; outRe[r][nBins + k] = 0; outIm[r][nBins + k] = 0; }
        outRe[r][k] += y[q] * scale;
        outIm[r][k] += y[q + 1] * scale;
        outRe[r][nBins + k] += y[q + 2] * scale;
        outIm[r][nBins + k] += y[q + 3] * scale;
      }
    }
  }

  /** y (scaled) for block frame tt, bin k, before any EM pass: estimates with the mixture's phase, or soft masks. */
  private initialEstimates(tt: number, k: number): void {
    const { re, im, nBins, est, stride } = this.block!;
    const { stems, sources, y, scale } = this;
    const inv = 1 / scale;
    const t = this.first + tt;
    for (let c = 0; c < 2; c++) {
      const xo = (c * stride + t) * nBins + k;
      const eo = (c * stride + t) * this.bins + k;
      const xr = re[xo], xi = im[xo];
      if (this.settings.softmask) {
        let total = EPS;
        for (let s = 0; s < stems; s++) total += est[s][eo];
        for (let s = 0; s < stems; s++) {
          const g = est[s][eo] / total;
          y[s * 4 + 2 * c] = xr * g * inv;
          y[s * 4 + 2 * c + 1] = xi * g * inv;
        }
      } else {
        const mag = Math.sqrt(xr * xr + xi * xi);
        // the reference's atan2 gives angle 0 where x = 0
        const ur = mag > 0 ? xr / mag : 1, ui = mag > 0 ? xi / mag : 0;
        for (let s = 0; s < stems; s++) {
          const e = est[s][eo];
          y[s * 4 + 2 * c] = e * ur * inv;
          y[s * 4 + 2 * c + 1] = e * ui * inv;
        }
      }
      if (sources > stems) {
        let sr = 0, si = 0;
        for (let s = 0; s < stems; s++) { sr += y[s * 4 + 2 * c]; si += y[s * 4 + 2 * c + 1]; }
        y[stems * 4 + 2 * c] = xr * inv - sr;
        y[stems * 4 + 2 * c + 1] = xi * inv - si;
      }
    }
  }

  /** One EM filtering step at (tt, k) with the current v and R: y_j = v_j R_j Cxx⁻¹ x (scaled). */
  private filterBin(tt: number, k: number): void {
    const { re, im, nBins, stride } = this.block!;
    const { sources: J, v, R, y } = this;
    const inv = 1 / this.scale;
    const t = this.first + tt;
    const vo = (tt * this.bins + k) * J;
    const ro = k * J * 4;
    let c00 = REG, c11 = REG, c01r = 0, c01i = 0;
    for (let j = 0; j < J; j++) {
      const vj = v[vo + j], q = ro + j * 4;
      c00 += vj * R[q];
      c11 += vj * R[q + 1];
      c01r += vj * R[q + 2];
      c01i += vj * R[q + 3];
    }
    // Cxx is Hermitian: det = c00·c11 − |c01|² is real; Cxx⁻¹ = [[c11, −c01], [−conj(c01), c00]] / det
    const det = c00 * c11 - (c01r * c01r + c01i * c01i);
    const x0r = re[(t) * nBins + k] * inv, x0i = im[(t) * nBins + k] * inv;
    const x1r = re[(stride + t) * nBins + k] * inv, x1i = im[(stride + t) * nBins + k] * inv;
    const z0r = (c11 * x0r - (c01r * x1r - c01i * x1i)) / det;
    const z0i = (c11 * x0i - (c01r * x1i + c01i * x1r)) / det;
    const z1r = (c00 * x1r - (c01r * x0r + c01i * x0i)) / det;
    const z1i = (c00 * x1i - (c01r * x0i - c01i * x0r)) / det;
    for (let j = 0; j < J; j++) {
      const vj = v[vo + j], q = ro + j * 4;
      const r00 = R[q], r11 = R[q + 1], r01r = R[q + 2], r01i = R[q + 3];
      // y0 = v (r00 z0 + r01 z1), y1 = v (conj(r01) z0 + r11 z1)
      y[j * 4] = vj * (r00 * z0r + r01r * z1r - r01i * z1i);
      y[j * 4 + 1] = vj * (r00 * z0i + r01r * z1i + r01i * z1r);
      y[j * 4 + 2] = vj * (r01r * z0r + r01i * z0i + r11 * z1r);
      y[j * 4 + 3] = vj * (r01r * z0i - r01i * z0r + r11 * z1i);
    }
  }

  private beginEstimate(): void {
    this.acc.fill(0);
    this.weight.fill(EPS);
  }

  /** Stores v_j(tt, k) from the current y and adds y_j y_jᴴ to R_j(k)'s sums. */
  private accumulate(tt: number, k: number): void {
    const { sources: J, v, acc, weight, y } = this;
    const vo = (tt * this.bins + k) * J;
    const ro = k * J * 4;
    for (let j = 0; j < J; j++) {
      const a0 = y[j * 4], b0 = y[j * 4 + 1], a1 = y[j * 4 + 2], b1 = y[j * 4 + 3];
      const p0 = a0 * a0 + b0 * b0, p1 = a1 * a1 + b1 * b1;
      const vj = (p0 + p1) / 2;
      v[vo + j] = vj;
      weight[k * J + j] += vj;
      const q = ro + j * 4;
      acc[q] += p0;
      acc[q + 1] += p1;
      acc[q + 2] += a0 * a1 + b0 * b1;
      acc[q + 3] += b0 * a1 - a0 * b1;
    }
  }

  private endEstimate(): void {
    const { acc, R, weight } = this;
    for (let i = 0; i < weight.length; i++) {
      const w = 1 / weight[i];
      const q = i * 4;
      R[q] = acc[q] * w;
      R[q + 1] = acc[q + 1] * w;
      R[q + 2] = acc[q + 2] * w;
      R[q + 3] = acc[q + 3] * w;
    }
  }
}
