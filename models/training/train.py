#!/usr/bin/env python3
"""Train the default 4-stem model on musdb18-7/train (prepare.py's cache), resumable.

Random remixing across songs (gain, channel swap, polarity, dropped stems), L1 on magnitudes,
checkpoints chosen by validation SDR (median over held-out train songs, not the test set), with
the engine's Wiener-style ratio masks at evaluation.

  train.py --minutes 7 [--device cuda] [--resume] [--data DIR] [--out DIR]
Runs on CPU for a short check (--minutes 1 --batch 2) and on the GPU machine for real.
"""
import argparse
import glob
import math
import os
import random
import time

import numpy as np
import torch

from model import STEMS, StemUNet

N_FFT, HOP, BINS, RATE = 4096, 1024, 1024, 44100


def load(data_dir):
    files = sorted(glob.glob(os.path.join(data_dir, '*.npy')))
    if not files:
        raise SystemExit(f'no prepared songs in {data_dir}: run prepare.py first')
    return [(os.path.basename(f)[:-4], np.load(f)) for f in files]


def split_songs(songs, n_val, seed=1234):
    idx = list(range(len(songs)))
    random.Random(seed).shuffle(idx)
    val = set(idx[:n_val])
    return [s for i, s in enumerate(songs) if i not in val], [s for i, s in enumerate(songs) if i in val]


def stft_mag(x, window):
    """x [..., L] -> complex [..., BINS, T] (no centering: the engine pads the signal itself)."""
    shape = x.shape[:-1]
    spec = torch.stft(x.reshape(-1, x.shape[-1]), N_FFT, HOP, window=window, center=False, return_complex=True)
    return spec[:, :BINS].reshape(*shape, BINS, spec.shape[-1])


def random_batch(songs, batch, frames, device, gen):
    length = (frames - 1) * HOP + N_FFT
    out = np.zeros((batch, len(STEMS), 2, length), dtype=np.float32)
    for b in range(batch):
        for s in range(len(STEMS)):
            if gen.random() < 0.1:
                continue  # a dropped stem: mixtures without vocals, drums, ...
            _, arr = songs[gen.randrange(len(songs))]
            start = gen.randrange(max(1, arr.shape[-1] - length))
            seg = arr[s, :, start:start + length].astype(np.float32)
            gain = gen.uniform(0.25, 1.25) * (-1 if gen.random() < 0.5 else 1)
            if gen.random() < 0.5:
                seg = seg[::-1]
            out[b, s, :, :seg.shape[-1]] = seg * gain
    return torch.from_numpy(out).to(device)


@torch.no_grad()
def validate(model, songs, window, device):
    """Median SDR per stem over songs, with ratio masks y^2 / sum y^2 as in the engine."""
    model.eval()
    scores = {s: [] for s in STEMS}
    for _, arr in songs:
        stems = torch.from_numpy(arr.astype(np.float32)).to(device)  # [S, 2, L]
        mix = stems.sum(0)
        spec = torch.stft(mix, N_FFT, HOP, window=window, center=True, return_complex=True)  # [2, 2049, T]
        t = spec.shape[-1]
        t_pad = math.ceil(t / 32) * 32
        mag = torch.zeros(1, 2, t_pad, BINS, device=device)
        mag[0, :, :t] = spec[:, :BINS].abs().transpose(1, 2)
        y = model(mag)[0, :, :, :t].transpose(2, 3)  # [S, 2, BINS, T]
        masks = (y ** 2 + 1e-10 / len(STEMS)) / ((y ** 2).sum(0, keepdim=True) + 1e-10)
        for s, name in enumerate(STEMS):
            m = torch.zeros_like(spec.real)
            m[:, :BINS] = masks[s]
            if name == 'other':
                m[:, BINS:] = 1.0  # the band above the model goes to the residual stem
            est = torch.istft(spec * m, N_FFT, HOP, window=window, center=True, length=mix.shape[-1])
            ref = stems[s]
            num = (ref ** 2).sum()
            den = ((ref - est) ** 2).sum()
            scores[name].append(float(10 * torch.log10((num + 1e-9) / (den + 1e-9))))
    model.train()
    return {s: float(np.median(v)) for s, v in scores.items()}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser()
    p.add_argument('--data', default=os.path.join(os.path.expanduser('~'), '.cache', 'stem-splitter', 'training', 'musdb18-7-train'))
    p.add_argument('--out', default=os.path.join(os.path.expanduser('~'), '.cache', 'stem-splitter', 'training', 'run'))
    p.add_argument('--minutes', type=float, default=7)
    p.add_argument('--batch', type=int, default=16)
    p.add_argument('--frames', type=int, default=256)
    p.add_argument('--lr', type=float, default=1e-3)
    p.add_argument('--val-songs', type=int, default=8)
    p.add_argument('--eval-minutes', type=float, default=0.5)
    p.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    p.add_argument('--threads', type=int, default=os.cpu_count())
    p.add_argument('--resume', action='store_true')
    p.add_argument('--seed', type=int, default=0)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    gen = random.Random(a.seed)
    os.makedirs(a.out, exist_ok=True)
    train, val = split_songs(load(a.data), a.val_songs)
    device = torch.device(a.device)
    window = torch.hann_window(N_FFT, periodic=True, device=device)
    model = StemUNet().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    state = {'step': 0, 'elapsed': 0.0, 'best': -1e9, 'history': []}
    last = os.path.join(a.out, 'last.pt')
    if a.resume and os.path.exists(last):
        ck = torch.load(last, map_location=device)
        model.load_state_dict(ck['model'])
        opt.load_state_dict(ck['opt'])
        state = ck['state']
        print(f"resumed at step {state['step']} ({state['elapsed'] / 60:.1f} min trained, best {state['best']:.2f} dB)")
    budget = a.minutes * 60
    start = time.time() - state['elapsed']
    next_eval = state['elapsed'] + a.eval_minutes * 60
    print(f'{len(train)} training songs, {len(val)} validation songs, device {device}, {sum(x.numel() for x in model.parameters())} parameters')
    while time.time() - start < budget:
        lr = a.lr * 0.5 * (1 + math.cos(math.pi * min(1.0, (time.time() - start) / budget)))
        for g in opt.param_groups:
            g['lr'] = lr
        x = random_batch(train, a.batch, a.frames, device, gen)  # [B, S, 2, L]
        specs = stft_mag(x, window).abs()  # [B, S, 2, BINS, T]
        targets = specs.transpose(-1, -2)  # [B, S, 2, T, BINS]
        mix = stft_mag(x.sum(1), window).abs().transpose(-1, -2)  # [B, 2, T, BINS]
        loss = (model(mix) - targets).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        state['step'] += 1
        elapsed = time.time() - start
        if elapsed >= next_eval or elapsed >= budget:
            scores = validate(model, val, window, device)
            score = float(np.mean(list(scores.values())))
            state['elapsed'] = elapsed
            state['history'].append({'step': state['step'], 'minutes': elapsed / 60, 'loss': float(loss), **scores})
            print(f"step {state['step']} {elapsed / 60:.1f} min loss {float(loss):.4f} val SDR " + ' '.join(f'{k} {v:.2f}' for k, v in scores.items()))
            if score > state['best']:
                state['best'] = score
                torch.save({'model': model.state_dict(), 'state': state}, os.path.join(a.out, 'best.pt'))
            torch.save({'model': model.state_dict(), 'opt': opt.state_dict(), 'state': state}, last)
            next_eval = elapsed + a.eval_minutes * 60
    print(f"done: {state['step']} steps in {(time.time() - start) / 60:.1f} min, best validation score {state['best']:.2f} dB")


if __name__ == '__main__':
    main()
