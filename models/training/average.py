#!/usr/bin/env python3
"""Average the weights of checkpoints from one training trajectory (same init, same channels):
the mean of nearby points of a noisy run often validates better than any one of them.

  average.py a.npz b.npz [...] --out avg.npz
Batch-norm statistics are averaged too; the state (step, config) is the last checkpoint's, with
the sources listed under 'averaged'.
"""
import argparse
import os

import torch

from checkpoint import channels_of, load_checkpoint, save_arrays


def main():
    p = argparse.ArgumentParser()
    p.add_argument('checkpoints', nargs='+')
    p.add_argument('--out', required=True)
    a = p.parse_args()
    cks = [load_checkpoint(path) for path in a.checkpoints]
    if len({channels_of(ck) for ck in cks}) != 1 or len({tuple(sorted(ck['model'])) for ck in cks}) != 1:
        raise SystemExit('checkpoints differ in shape: only checkpoints of one model can be averaged')
    arrays = {k: torch.stack([ck['model'][k].float() for ck in cks]).mean(0).numpy() for k in cks[0]['model']}
    state = dict(cks[-1]['state'], averaged=[{'checkpoint': os.path.basename(path), 'step': ck['state']['step']}
                                             for path, ck in zip(a.checkpoints, cks)])
    save_arrays(arrays, state, a.out)
    print(a.out, 'from', ', '.join(f"{os.path.basename(path)} (step {ck['state']['step']})" for path, ck in zip(a.checkpoints, cks)))


if __name__ == '__main__':
    main()
