#!/usr/bin/env python3
"""On the GPU machine: turn pack.sh's Opus stems back into prepare.py's cache layout.

  unpack_pack.py PACK_DIR OUT_DIR     (PACK_DIR holds opus/ and ffmpeg.xz)
"""
import lzma
import os
import stat
import subprocess
import sys
from collections import defaultdict

import numpy as np


def main():
    pack, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    ffmpeg = os.path.join(out, 'ffmpeg')
    if not os.path.exists(ffmpeg):
        with lzma.open(os.path.join(pack, 'ffmpeg.xz')) as src, open(ffmpeg, 'wb') as dst:
            dst.write(src.read())
        os.chmod(ffmpeg, os.stat(ffmpeg).st_mode | stat.S_IEXEC)
    songs = defaultdict(dict)
    for f in os.listdir(os.path.join(pack, 'opus')):
        name, idx, _ = f.rsplit('.', 2)
        songs[name][int(idx)] = os.path.join(pack, 'opus', f)
    for name, parts in sorted(songs.items()):
        stems = []
        for i in range(4):
            raw = subprocess.run([ffmpeg, '-v', 'error', '-nostdin', '-i', parts[i], '-ac', '2', '-ar', '44100', '-f', 'f32le', 'pipe:1'],
                                 check=True, capture_output=True).stdout
            stems.append(np.frombuffer(raw, dtype=np.float32).reshape(-1, 2).T)
        n = min(x.shape[1] for x in stems)
        np.save(os.path.join(out, f'{name}.npy'), np.stack([x[:, :n] for x in stems]).astype(np.float16))
    print(out, len(songs), 'songs')


if __name__ == '__main__':
    main()
