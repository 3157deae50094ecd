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
)
