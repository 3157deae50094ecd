#!/usr/bin/env python3
"""Decode the training data once into a compact cache of float16 stems.

musdb18-7/train: each .stem.mp4 -> [4 stems (vocals, drums, bass, other), 2 channels, N] float16.
Never touches musdb18-7/test. Needs ffmpeg on PATH (or FFMPEG_PATH).

Usage: prepare.py [--shared DIR] [--out DIR]
"""
import argparse
import os
import subprocess
import sys

import numpy as np

# stream order in the .stem.mp4 files: 0 mixture, 1 drums, 2 bass, 3 other, 4 vocals
STEMS = {'vocals': 4, 'drums': 1, 'bass': 2, 'other': 3}
RATE = 44100


def decode(ffmpeg, path, stream):
    cmd = [ffmpeg, '-v', 'error', '-nostdin', '-i', path, '-map', f'0:{stream}', '-ac', '2', '-ar', str(RATE),
           '-f', 'f32le', '-c:a', 'pcm_f32le', 'pipe:1']
    raw = subprocess.run(cmd, check=True, capture_output=True).stdout
    return np.frombuffer(raw, dtype=np.float32).reshape(-1, 2).T


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser()
    p.add_argument('--shared', default=os.environ.get('STEMS_SHARED_DIR', os.path.join(here, '..', '..', '..', 'shared')))
    p.add_argument('--out', default=os.path.join(os.path.expanduser('~'), '.cache', 'stem-splitter', 'training', 'musdb18-7-train'))
    args = p.parse_args()
    ffmpeg = os.environ.get('FFMPEG_PATH', 'ffmpeg')
    src = os.path.join(args.shared, 'datasets', 'musdb18-7', 'train')
    os.makedirs(args.out, exist_ok=True)
    songs = sorted(f for f in os.listdir(src) if f.endswith('.stem.mp4'))
    for i, name in enumerate(songs):
        dest = os.path.join(args.out, name.replace('.stem.mp4', '.npy'))
        if os.path.exists(dest):
            continue
        stems = [decode(ffmpeg, os.path.join(src, name), s) for s in STEMS.values()]
        n = min(x.shape[1] for x in stems)
        arr = np.stack([x[:, :n] for x in stems]).astype(np.float16)
        np.save(dest + '.tmp.npy', arr)
        os.replace(dest + '.tmp.npy', dest)
        print(f'{i + 1}/{len(songs)} {name} {n / RATE:.1f} s', file=sys.stderr)
    print(args.out)


if __name__ == '__main__':
    main()
