;; The STFT's per-frame loops around the FFT, in WebAssembly SIMD (f32x4), on PFFFT's own memory
;; (imported), so a frame goes in, through the FFT and out without leaving WebAssembly memory.
;; Pointers are byte addresses; counts are floats (or complex bins) and may be any size: four at a
;; time, then a scalar tail. Loads and stores need no alignment.
;; Built into frame-kernels.wasm.ts by `npm run build:kernels` (wabt); a test checks they match.
(module
  (import "env" "memory" (memory 0))

  ;; dst[i] = a[i] * b[i], i < n (dst may be a)
  (func (export "mul") (param $dst i32) (param $a i32) (param $b i32) (param $n i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $dst) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $done4
      (loop $four
        (br_if $done4 (i32.ge_u (local.get $dst) (local.get $end)))
        (v128.store (local.get $dst) (f32x4.mul (v128.load (local.get $a)) (v128.load (local.get $b))))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (local.set $a (i32.add (local.get $a) (i32.const 16)))
        (local.set $b (i32.add (local.get $b) (i32.const 16)))
        (br $four)))
    (local.set $end (i32.add (local.get $end) (i32.shl (i32.and (local.get $n) (i32.const 3)) (i32.const 2))))
    (block $done
      (loop $one
        (br_if $done (i32.ge_u (local.get $dst) (local.get $end)))
        (f32.store (local.get $dst) (f32.mul (f32.load (local.get $a)) (f32.load (local.get $b))))
        (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
        (local.set $a (i32.add (local.get $a) (i32.const 4)))
        (local.set $b (i32.add (local.get $b) (i32.const 4)))
        (br $one))))

  ;; acc[i] += a[i] * b[i], i < n (overlap-add of a windowed frame)
  (func (export "mulAdd") (param $acc i32) (param $a i32) (param $b i32) (param $n i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $acc) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $done4
      (loop $four
        (br_if $done4 (i32.ge_u (local.get $acc) (local.get $end)))
        (v128.store (local.get $acc)
          (f32x4.add (v128.load (local.get $acc)) (f32x4.mul (v128.load (local.get $a)) (v128.load (local.get $b)))))
        (local.set $acc (i32.add (local.get $acc) (i32.const 16)))
        (local.set $a (i32.add (local.get $a) (i32.const 16)))
        (local.set $b (i32.add (local.get $b) (i32.const 16)))
        (br $four)))
    (local.set $end (i32.add (local.get $end) (i32.shl (i32.and (local.get $n) (i32.const 3)) (i32.const 2))))
    (block $done
      (loop $one
        (br_if $done (i32.ge_u (local.get $acc) (local.get $end)))
        (f32.store (local.get $acc)
          (f32.add (f32.load (local.get $acc)) (f32.mul (f32.load (local.get $a)) (f32.load (local.get $b)))))
        (local.set $acc (i32.add (local.get $acc) (i32.const 4)))
        (local.set $a (i32.add (local.get $a) (i32.const 4)))
        (local.set $b (i32.add (local.get $b) (i32.const 4)))
        (br $one))))

  ;; Interleaved complex pairs (re, im, re, im, ...) to re[k] and im[k], k < n, and |X[k]| to
  ;; mag[k] for k < m (m <= n; the magnitude in float32, as the model's input is).
  (func (export "unpack") (param $src i32) (param $re i32) (param $im i32) (param $mag i32) (param $n i32) (param $m i32)
    (local $k i32) (local $v0 v128) (local $v1 v128) (local $r v128) (local $i v128) (local $n4 i32) (local $a f32) (local $b f32)
    (local.set $n4 (i32.and (local.get $n) (i32.const -4)))
    (block $done4
      (loop $four
        (br_if $done4 (i32.ge_u (local.get $k) (local.get $n4)))
        (local.set $v0 (v128.load (local.get $src)))
        (local.set $v1 (v128.load offset=16 (local.get $src)))
        (local.set $r (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $v0) (local.get $v1)))
        (local.set $i (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $v0) (local.get $v1)))
        (v128.store (local.get $re) (local.get $r))
        (v128.store (local.get $im) (local.get $i))
        (if (i32.lt_u (local.get $k) (local.get $m))
          (then (v128.store (local.get $mag)
            (f32x4.sqrt (f32x4.add (f32x4.mul (local.get $r) (local.get $r)) (f32x4.mul (local.get $i) (local.get $i)))))))
        (local.set $src (i32.add (local.get $src) (i32.const 32)))
        (local.set $re (i32.add (local.get $re) (i32.const 16)))
        (local.set $im (i32.add (local.get $im) (i32.const 16)))
        (local.set $mag (i32.add (local.get $mag) (i32.const 16)))
        (local.set $k (i32.add (local.get $k) (i32.const 4)))
        (br $four)))
    (block $done
      (loop $one
        (br_if $done (i32.ge_u (local.get $k) (local.get $n)))
        (local.set $a (f32.load (local.get $src)))
        (local.set $b (f32.load offset=4 (local.get $src)))
        (f32.store (local.get $re) (local.get $a))
        (f32.store (local.get $im) (local.get $b))
        (if (i32.lt_u (local.get $k) (local.get $m))
          (then (f32.store (local.get $mag)
            (f32.sqrt (f32.add (f32.mul (local.get $a) (local.get $a)) (f32.mul (local.get $b) (local.get $b)))))))
        (local.set $src (i32.add (local.get $src) (i32.const 8)))
        (local.set $re (i32.add (local.get $re) (i32.const 4)))
        (local.set $im (i32.add (local.get $im) (i32.const 4)))
        (local.set $mag (i32.add (local.get $mag) (i32.const 4)))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $one))))

  ;; dst[2k] = re[k] * g[k], dst[2k+1] = im[k] * g[k], k < n: a masked half spectrum packed as
  ;; interleaved pairs. With $scalar set, g is the one float at $g for every k.
  (func (export "pack") (param $dst i32) (param $re i32) (param $im i32) (param $g i32) (param $scalar i32) (param $n i32)
    (local $k i32) (local $n4 i32) (local $m v128) (local $a v128) (local $b v128) (local $step i32) (local $s f32)
    (local.set $n4 (i32.and (local.get $n) (i32.const -4)))
    (local.set $step (select (i32.const 0) (i32.const 16) (local.get $scalar)))
    (local.set $m (v128.load32_splat (local.get $g)))
    (block $done4
      (loop $four
        (br_if $done4 (i32.ge_u (local.get $k) (local.get $n4)))
        (if (i32.eqz (local.get $scalar)) (then (local.set $m (v128.load (local.get $g)))))
        (local.set $a (f32x4.mul (v128.load (local.get $re)) (local.get $m)))
        (local.set $b (f32x4.mul (v128.load (local.get $im)) (local.get $m)))
        (v128.store (local.get $dst) (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $a) (local.get $b)))
        (v128.store offset=16 (local.get $dst) (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $a) (local.get $b)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
        (local.set $re (i32.add (local.get $re) (i32.const 16)))
        (local.set $im (i32.add (local.get $im) (i32.const 16)))
        (local.set $g (i32.add (local.get $g) (local.get $step)))
        (local.set $k (i32.add (local.get $k) (i32.const 4)))
        (br $four)))
    (block $done
      (loop $one
        (br_if $done (i32.ge_u (local.get $k) (local.get $n)))
        (local.set $s (f32.load (local.get $g)))
        (f32.store (local.get $dst) (f32.mul (f32.load (local.get $re)) (local.get $s)))
        (f32.store offset=4 (local.get $dst) (f32.mul (f32.load (local.get $im)) (local.get $s)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 8)))
        (local.set $re (i32.add (local.get $re) (i32.const 4)))
        (local.set $im (i32.add (local.get $im) (i32.const 4)))
        (local.set $g (i32.add (local.get $g) (i32.shr_u (local.get $step) (i32.const 2))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $one))))
  ;; Ratio masks of S estimates: mask_s[i] = (est_s[i]^2 + eps/S) / (sum_t est_t[i]^2 + eps), i < n.
  ;; Stem s's floats start at est + s * stride (bytes), its mask's at masks + s * stride.
  (func (export "ratioMasks") (param $est i32) (param $masks i32) (param $stride i32) (param $S i32) (param $n i32) (param $eps f32)
    (local $i i32) (local $n4 i32) (local $at i32) (local $s i32) (local $sum v128) (local $e v128) (local $epsS v128) (local $inv v128)
    (local $sum1 f32) (local $e1 f32) (local $inv1 f32)
    (local.set $n4 (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (local.set $epsS (f32x4.splat (f32.div (local.get $eps) (f32.convert_i32_u (local.get $S)))))
    (block $done4
      (loop $four
        (br_if $done4 (i32.ge_u (local.get $i) (local.get $n4)))
        (local.set $sum (f32x4.splat (local.get $eps)))
        (local.set $s (i32.const 0))
        (local.set $at (i32.add (local.get $est) (local.get $i)))
        (loop $sums
          (local.set $e (v128.load (local.get $at)))
          (local.set $sum (f32x4.add (local.get $sum) (f32x4.mul (local.get $e) (local.get $e))))
          (local.set $at (i32.add (local.get $at) (local.get $stride)))
          (br_if $sums (i32.lt_u (local.tee $s (i32.add (local.get $s) (i32.const 1))) (local.get $S))))
        (local.set $inv (f32x4.div (f32x4.splat (f32.const 1)) (local.get $sum)))
        (local.set $s (i32.const 0))
        (local.set $at (local.get $i))
        (loop $each
          (local.set $e (v128.load (i32.add (local.get $est) (local.get $at))))
          (v128.store (i32.add (local.get $masks) (local.get $at))
            (f32x4.mul (f32x4.add (f32x4.mul (local.get $e) (local.get $e)) (local.get $epsS)) (local.get $inv)))
          (local.set $at (i32.add (local.get $at) (local.get $stride)))
          (br_if $each (i32.lt_u (local.tee $s (i32.add (local.get $s) (i32.const 1))) (local.get $S))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $four)))
    (block $done
      (loop $one
        (br_if $done (i32.ge_u (local.get $i) (i32.shl (local.get $n) (i32.const 2))))
        (local.set $sum1 (local.get $eps))
        (local.set $s (i32.const 0))
        (local.set $at (i32.add (local.get $est) (local.get $i)))
        (loop $sums1
          (local.set $e1 (f32.load (local.get $at)))
          (local.set $sum1 (f32.add (local.get $sum1) (f32.mul (local.get $e1) (local.get $e1))))
          (local.set $at (i32.add (local.get $at) (local.get $stride)))
          (br_if $sums1 (i32.lt_u (local.tee $s (i32.add (local.get $s) (i32.const 1))) (local.get $S))))
        (local.set $inv1 (f32.div (f32.const 1) (local.get $sum1)))
        (local.set $s (i32.const 0))
        (local.set $at (local.get $i))
        (loop $each1
          (local.set $e1 (f32.load (i32.add (local.get $est) (local.get $at))))
          (f32.store (i32.add (local.get $masks) (local.get $at))
            (f32.mul (f32.add (f32.mul (local.get $e1) (local.get $e1)) (f32x4.extract_lane 0 (local.get $epsS))) (local.get $inv1)))
          (local.set $at (i32.add (local.get $at) (local.get $stride)))
          (br_if $each1 (i32.lt_u (local.tee $s (i32.add (local.get $s) (i32.const 1))) (local.get $S))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $one))))
  ;; Overlap-added stereo normalised and interleaved: dst[2j] = L[j] * g, dst[2j+1] = R[j] * g with
  ;; g = 1 / d[j] where d[j] >= floor, 1 / floor where 0 < d[j] < floor (the thin edges of the
  ;; window overlap), 0 where d[j] = 0; j < n.
  (func (export "normInterleave") (param $dst i32) (param $L i32) (param $R i32) (param $d i32) (param $floor f32) (param $n i32)
    (local $j i32) (local $n4 i32) (local $dv v128) (local $fl v128) (local $g v128) (local $l v128) (local $r v128) (local $d1 f32) (local $g1 f32)
    (local.set $n4 (i32.and (local.get $n) (i32.const -4)))
    (local.set $fl (f32x4.splat (local.get $floor)))
    (block $done4
      (loop $four
        (br_if $done4 (i32.ge_u (local.get $j) (local.get $n4)))
        (local.set $dv (v128.load (local.get $d)))
        (local.set $g (v128.and
          (f32x4.div (f32x4.splat (f32.const 1)) (v128.bitselect (local.get $dv) (local.get $fl) (f32x4.ge (local.get $dv) (local.get $fl))))
          (f32x4.gt (local.get $dv) (f32x4.splat (f32.const 0)))))
        (local.set $l (f32x4.mul (v128.load (local.get $L)) (local.get $g)))
        (local.set $r (f32x4.mul (v128.load (local.get $R)) (local.get $g)))
        (v128.store (local.get $dst) (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $l) (local.get $r)))
        (v128.store offset=16 (local.get $dst) (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $l) (local.get $r)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
        (local.set $L (i32.add (local.get $L) (i32.const 16)))
        (local.set $R (i32.add (local.get $R) (i32.const 16)))
        (local.set $d (i32.add (local.get $d) (i32.const 16)))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $four)))
    (block $done
      (loop $one
        (br_if $done (i32.ge_u (local.get $j) (local.get $n)))
        (local.set $d1 (f32.load (local.get $d)))
        (local.set $g1
          (select (f32.div (f32.const 1) (f32.max (local.get $d1) (local.get $floor))) (f32.const 0) (f32.gt (local.get $d1) (f32.const 0))))
        (f32.store (local.get $dst) (f32.mul (f32.load (local.get $L)) (local.get $g1)))
        (f32.store offset=4 (local.get $dst) (f32.mul (f32.load (local.get $R)) (local.get $g1)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 8)))
        (local.set $L (i32.add (local.get $L) (i32.const 4)))
        (local.set $R (i32.add (local.get $R) (i32.const 4)))
        (local.set $d (i32.add (local.get $d) (i32.const 4)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $one))))
)
