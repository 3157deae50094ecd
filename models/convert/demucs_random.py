#!/usr/bin/env python3
"""A full-size HTDemucs with seeded random weights, exported in the `demucs` contract: the speed
model of `npm run bench:demucs` (real-model cost, no musical knowledge). Kept out of git; the bench
runs this script when the folder is missing.

  python3 models/convert/demucs_random.py OUT_DIR [--sources 4|6]

The network is upstream's HTDemucs class with its default configuration (channels 48, depth 4,
5 transformer layers: 26.9 M parameters with 4 sources) and the official models' segment (7.8 s,
Fraction(39, 5)); biases zeroed as in the fixtures so the output stays well-conditioned.
Needs upstream demucs (and einops, julius, openunmix/filtering.py) on PYTHONPATH.
"""
import argparse
import os
import sys
from fractions import Fraction

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from demucs_onnx import convert  # noqa: E402

SOURCES = {4: ['drums', 'bass', 'other', 'vocals'], 6: ['drums', 'bass', 'other', 'vocals', 'guitar', 'piano']}


def full_size_htdemucs(sources, seed=0):
    from demucs.htdemucs import HTDemucs
    torch.manual_seed(seed)
    m = HTDemucs(SOURCES[sources], segment=Fraction(39, 5))
    with torch.no_grad():
        for name, p in m.named_parameters():
            if name.endswith('bias'):
                p.zero_()
    return m.eval()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('out_dir')
    ap.add_argument('--sources', type=int, choices=[4, 6], default=4)
    args = ap.parse_args()
    model = full_size_htdemucs(args.sources)
    model_id = 'htdemucs-arch' if args.sources == 4 else 'htdemucs-6s-arch'
    convert(model, model_id, args.out_dir, f'HTDemucs architecture ({args.sources} sources), seeded random weights: real-model cost, no knowledge',
            'models/convert/demucs_random.py', licence='architecture only, random weights')
    print(args.out_dir)


if __name__ == '__main__':
    main()
