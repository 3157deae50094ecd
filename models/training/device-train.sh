#!/usr/bin/env bash
# On the GPU machine, from the repo root: unpack pack.sh's output and train several variants of the
# recipe side by side on the one GPU (the model is small; one run leaves the GPU mostly idle), each
# choosing its checkpoint on the same held-out train songs. Results land in $OUT (device tool).
#   bash models/training/device-train.sh [PACK_DIR] [MINUTES]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
pack=${1:-.cache/training-pack}
minutes=${2:-7}
out=${OUT:-/tmp/out}
data=/tmp/stem-data
mkdir -p "$out"
t0=$(date +%s)
python3 "$here/unpack_pack.py" "$pack" "$data" || exit 1
echo "unpacked in $(( $(date +%s) - t0 )) s"
nvidia-smi -L 2>/dev/null
common=(--data "$data" --minutes "$minutes" --batch "${BATCH:-32}" --frames "${FRAMES:-256}" --eval-minutes 0.5 --val-songs 8 --threads 4)
declare -A variants=(
  [a]="--complex-loss 0"
  [b]="--complex-loss 1"
  [c]="--complex-loss 1 --extra-vocals $data/vocals-extra --extra-vocals-p 0.25"
  [d]="--complex-loss 1 --channels 20,40,80,160,200"
)
for v in "${!variants[@]}"; do
  # shellcheck disable=SC2086
  python3 "$here/train.py" "${common[@]}" --out "/tmp/run-$v" ${variants[$v]} 2>&1 | sed -u "s/^/[$v] /" >> "$out/train.log" &
done
wait
for v in "${!variants[@]}"; do
  for f in /tmp/run-"$v"/best*.npz; do [ -f "$f" ] && cp "$f" "$out/$v-$(basename "$f")"; done
done
grep -h "done:" "$out/train.log"
ls -la "$out"
echo "total $(( $(date +%s) - t0 )) s"
