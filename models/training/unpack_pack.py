#!/usr/bin/env python3
"""On the GPU machine: turn pack.sh's Opus files back into prepare.py's cache layout.

  unpack_pack.py PACK_DIR OUT_DIR     (PACK_DIR holds opus/, mir/ and ffmpeg.xz)
OUT_DIR gets one [4, 2, N] float16 .npy per MUSDB song and vocals-extra/ with one mono float16
.npy per MIR-1K clip (its vocal channel, resampled to 44.1 kHz).
"""
import lzma
import os
import stat
import subprocess
import sys
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import numpy as np


def decode(ffmpeg, path, channels):
    raw = subprocess.run([ffmpeg, '-v', 'error', '-nostdin', '-i', path, '-ac', str(channels), '-ar', '44100', '-f', 'f32le', 'pipe:1'],
                         check=True, capture_output=True).stdout
    return np.frombuffer(raw, dtype=np.float32).reshape(-1, channels).T


def main():
    pack, out = sys.argv[1], sys.argv[2]
    os.makedirs(os.path.join(out, 'vocals-extra'), exist_ok=True)
    ffmpeg = os.path.join(out, 'ffmpeg')
    if not os.path.exists(ffmpeg):
        with lzma.open(os.path.join(pack, 'ffmpeg.xz')) as src, open(ffmpeg, 'wb') as dst:
            dst.write(src.read())
        os.chmod(ffmpeg, os.stat(ffmpeg).st_mode | stat.S_IEXEC)
    songs = defaultdict(dict)
    for f in os.listdir(os.path.join(pack, 'opus')):
        name, idx, _ = f.rsplit('.', 2)
        songs[name][int(idx)] = os.path.join(pack, 'opus', f)

    def song(item):
        name, parts = item
        stems = [decode(ffmpeg, parts[i], 2) for i in range(4)]
        n = min(x.shape[1] for x in stems)
        np.save(os.path.join(out, f'{name}.npy'), np.stack([x[:, :n] for x in stems]).astype(np.float16))

    mir_dir = os.path.join(pack, 'mir')
    mir = sorted(os.listdir(mir_dir)) if os.path.isdir(mir_dir) else []

    def vocal(f):
        np.save(os.path.join(out, 'vocals-extra', f.rsplit('.', 1)[0] + '.npy'), decode(ffmpeg, os.path.join(mir_dir, f), 1)[0].astype(np.float16))

    with ThreadPoolExecutor(os.cpu_count()) as pool:
        list(pool.map(song, sorted(songs.items())))
        list(pool.map(vocal, mir))
    print(out, len(songs), 'songs', len(mir), 'extra vocal clips', flush=True)


if __name__ == '__main__':
    main()
