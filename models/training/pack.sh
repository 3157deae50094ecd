#!/usr/bin/env bash
# Packs what a GPU machine without ffmpeg needs to train, under the device tool's 64 MiB limit:
# the training stems re-encoded as Opus, MIR-1K's vocal channel (mono Opus; extra vocals), a
# static ffmpeg (xz) to decode them there, and the recipe. Output: OUT_DIR (default .cache/training-pack).
# Usage: models/training/pack.sh [OUT_DIR]    (run from the repo root; needs ffmpeg with libopus, xz)
# The static ffmpeg is @ffmpeg-installer/linux-x64 from the npm registry (or FFMPEG_STATIC=path).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
shared=${STEMS_SHARED_DIR:-$root/../shared}
out=${1:-$root/.cache/training-pack}
musdb_kbps=${MUSDB_KBPS:-64}
mir_kbps=${MIR_KBPS:-16}
mir_stride=${MIR_STRIDE:-2}   # every 2nd MIR-1K clip (about an hour of singing) keeps the pack under 64 MiB
mkdir -p "$out/opus" "$out/mir"
static=${FFMPEG_STATIC:-}
if [ -z "$static" ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent @ffmpeg-installer/linux-x64 >/dev/null && tar xzf ./*.tgz)
  static="$tmp/package/ffmpeg"
fi
for f in "$shared"/datasets/musdb18-7/train/*.stem.mp4; do
  name=$(basename "$f" .stem.mp4)
  # streams 4, 1, 2, 3 = vocals, drums, bass, other (prepare.py's order)
  i=0
  for s in 4 1 2 3; do
    [ -f "$out/opus/$name.$i.opus" ] || ffmpeg -v error -nostdin -i "$f" -map "0:$s" -c:a libopus -b:a "${musdb_kbps}k" "$out/opus/$name.$i.opus"
    i=$((i + 1))
  done
done
# MIR-1K: right channel = vocals (16 kHz, band-limited to 8 kHz)
n=0
for f in "$shared"/datasets/mir-1k/*.opus; do
  n=$((n + 1))
  [ $((n % mir_stride)) -eq 0 ] || continue
  name=$(basename "$f" .opus)
  [ -f "$out/mir/$name.opus" ] || ffmpeg -v error -nostdin -i "$f" -af 'pan=mono|c0=c1' -ar 16000 -c:a libopus -b:a "${mir_kbps}k" "$out/mir/$name.opus"
done
[ -f "$out/ffmpeg.xz" ] || xz -T2 -6 -c "$static" > "$out/ffmpeg.xz"
du -sh "$out" "$out"/*
