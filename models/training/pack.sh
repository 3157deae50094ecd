#!/usr/bin/env bash
# Packs what a GPU machine without ffmpeg needs to train, under the device tool's 64 MiB limit:
# the training stems re-encoded as Opus (96 kbps) and a static ffmpeg (xz). Output: DIR/pack.
# Usage: models/training/pack.sh [OUT_DIR]    (run from the repo root, after npm ci)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
shared=${STEMS_SHARED_DIR:-$root/../shared}
out=${1:-$root/.cache/training-pack}
ffmpeg_bin=$(ls "$root"/node_modules/@ffmpeg-installer/linux-*/ffmpeg | head -1)
mkdir -p "$out/opus"
for f in "$shared"/datasets/musdb18-7/train/*.stem.mp4; do
  name=$(basename "$f" .stem.mp4)
  # streams 4, 1, 2, 3 = vocals, drums, bass, other (prepare.py's order)
  i=0
  for s in 4 1 2 3; do
    [ -f "$out/opus/$name.$i.opus" ] || "$ffmpeg_bin" -v error -nostdin -i "$f" -map "0:$s" -c:a libopus -b:a 96k "$out/opus/$name.$i.opus"
    i=$((i + 1))
  done
done
xz -T2 -6 -c "$ffmpeg_bin" > "$out/ffmpeg.xz"
cp "$root"/models/training/*.py "$out/"
du -sh "$out"
