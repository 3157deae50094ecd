#!/usr/bin/env python3
"""Train the default 4-stem model on musdb18-7/train (prepare.py's cache), resumable.

Random remixing across songs (gain, channel swap, polarity, dropped stems; optionally MIR-1K
vocals in place of the vocal stem), L1 on magnitudes plus optionally L1 on the complex estimate the
engine forms (ratio masks times the mixture STFT), checkpoints chosen by validation SDR (median
over held-out train songs, not the test set), with the engine's ratio masks at evaluation.
The songs live on the training device and batches are cut there, so a GPU is never starved.

  train.py --minutes 7 [--device cuda] [--resume | --init CHECKPOINT [--eval-only]] [--data DIR] [--out DIR]
           [--extra-vocals DIR --extra-vocals-p 0.25] [--complex-loss 1] [--channels 16,32,64,128,160]
Runs on CPU for a short check (--minutes 1 --batch 2) and on the GPU machine for real.
--init starts from a checkpoint's weights (.pt or .npz, its channels) with a fresh optimizer and
schedule, scored on the validation songs first and written as best.*, which training replaces only
when it beats them; --recalibrate-bn N first recomputes its batch-norm statistics over N batches;
--eval-only stops after that. --freeze-bn keeps batch-norm statistics fixed while training (small
CPU batches); --keep-evals writes eval-STEP.npz at every evaluation (for average.py).
"""
import argparse
import glob
import math
import os
import random
import time

import numpy as np
import torch

from checkpoint import channels_of, load_checkpoint, save_npz
from model import STEMS, StemUNet

N_FFT, HOP, BINS, RATE = 4096, 1024, 1024, 44100


def load(data_dir):
    files = sorted(glob.glob(os.path.join(data_dir, '*.npy')))
    if not files:
        raise SystemExit(f'no prepared songs in {data_dir}: run prepare.py first')
    return [(os.path.basename(f)[:-4], np.load(f)) for f in files]


def to_device(songs, device):
    """float16 stems kept on the device: a batch is cut there, no host-to-device copy per step."""
    return [(name, torch.from_numpy(arr).to(device)) for name, arr in songs]


def load_extra_vocals(extra_dir, device):
    """Mono float16 vocal clips at 44.1 kHz (unpack_pack.py's vocals-extra/), or none."""
    if not extra_dir:
        return []
    files = sorted(glob.glob(os.path.join(extra_dir, '*.npy')))
    if not files:
        raise SystemExit(f'no extra vocals in {extra_dir}')
    return [torch.from_numpy(np.load(f)).to(device) for f in files]


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


def random_batch(songs, batch, frames, device, gen, extra_vocals=(), extra_p=0.0):
    length = (frames - 1) * HOP + N_FFT
    out = torch.zeros((batch, len(STEMS), 2, length), dtype=torch.float32, device=device)
    for b in range(batch):
        for s in range(len(STEMS)):
            if gen.random() < 0.1:
                continue  # a dropped stem: mixtures without vocals, drums, ...
            gain = gen.uniform(0.25, 1.25) * (-1 if gen.random() < 0.5 else 1)
            if s == 0 and extra_vocals and gen.random() < extra_p:
                clip = extra_vocals[gen.randrange(len(extra_vocals))]
                start = gen.randrange(max(1, clip.shape[-1] - length))
                seg = clip[start:start + length].float()
                pan = gen.uniform(0.3, 0.7)  # mono source placed somewhere in the stereo field
                out[b, s, 0, :seg.shape[-1]] = seg * (gain * 2 * pan)
                out[b, s, 1, :seg.shape[-1]] = seg * (gain * 2 * (1 - pan))
                continue
            _, arr = songs[gen.randrange(len(songs))]
            start = gen.randrange(max(1, arr.shape[-1] - length))
            seg = arr[s, :, start:start + length].float()
            if gen.random() < 0.5:
                seg = seg.flip(0)
            out[b, s, :, :seg.shape[-1]] = seg * gain
    return out


def ratio_mask_estimate(y, mix_spec):
    """What the engine computes from the model's magnitudes: ratio masks times the mixture STFT.
    y [B, S, 2, T, F] magnitudes, mix_spec [B, 2, F, T] complex -> [B, S, 2, F, T] complex."""
    power = y.transpose(-1, -2) ** 2
    masks = (power + 1e-10 / y.shape[1]) / (power.sum(1, keepdim=True) + 1e-10)
    return masks * mix_spec.unsqueeze(1)


def train_mode(model, freeze_bn=False):
    """Training mode; with freeze_bn the batch norms keep their running statistics (a small CPU
    batch gives noisy batch statistics that would pull them away from what the model learned)."""
    model.train()
    if freeze_bn:
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.eval()


@torch.no_grad()
def recalibrate_bn(model, songs, batches, batch, frames, window, device, gen):
    """Batch-norm running statistics recomputed for the current weights as a plain average over
    random training batches (dropout off, as at inference): at a checkpoint taken mid-run the
    moving averages lag the weights."""
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
    model.eval()
    for m in bns:
        m.train()
    for _ in range(batches):
        x = random_batch(songs, batch, frames, device, gen)
        model(stft_mag(x.sum(1), window).abs().transpose(-1, -2))
    for m in bns:
        m.momentum = 0.1
    model.train()


@torch.no_grad()
def validate(model, songs, window, device):
    """Median SDR per stem over songs, with ratio masks y^2 / sum y^2 as in the engine."""
    model.eval()
    scores = {s: [] for s in STEMS}
    for _, arr in songs:
        stems = arr.float()  # [S, 2, L]
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
    p.add_argument('--extra-vocals', default='', help="folder of mono 44.1 kHz vocal clips (.npy) that replace the vocal stem with probability --extra-vocals-p")
    p.add_argument('--extra-vocals-p', type=float, default=0.25)
    p.add_argument('--complex-loss', type=float, default=0.0, help='weight of L1 on the ratio-masked complex estimate')
    p.add_argument('--channels', default='16,32,64,128,160')
    p.add_argument('--init', default='', help='start from these weights (.pt or .npz; its channels), fresh optimizer')
    p.add_argument('--eval-only', action='store_true', help='with --init: print its validation scores and stop')
    p.add_argument('--keep-evals', action='store_true', help='write eval-STEP.npz at every evaluation')
    p.add_argument('--recalibrate-bn', type=int, default=0, metavar='N', help='with --init: recompute batch-norm statistics over N batches first')
    p.add_argument('--freeze-bn', action='store_true', help='keep batch-norm statistics fixed while training (small batches)')
    a = p.parse_args()
    if a.eval_only and not a.init:
        raise SystemExit('--eval-only scores the weights given with --init')
    init = load_checkpoint(a.init) if a.init else None
    channels = channels_of(init) if init else tuple(int(c) for c in a.channels.split(','))
    torch.set_num_threads(a.threads)
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    torch.backends.cudnn.benchmark = True
    torch.manual_seed(a.seed)
    gen = random.Random(a.seed)
    os.makedirs(a.out, exist_ok=True)
    device = torch.device(a.device)
    train, val = (to_device(part, device) for part in split_songs(load(a.data), a.val_songs))
    extra = load_extra_vocals(a.extra_vocals, device)
    window = torch.hann_window(N_FFT, periodic=True, device=device)
    model = StemUNet(channels=channels)
    if init:
        model.load_state_dict(init['model'])
    model = model.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    config = {'channels': list(channels), 'batch': a.batch, 'frames': a.frames, 'lr': a.lr, 'complex_loss': a.complex_loss,
              'extra_vocals': len(extra), 'extra_vocals_p': a.extra_vocals_p if extra else 0.0, 'val_songs': a.val_songs, 'seed': a.seed}
    state = {'step': 0, 'elapsed': 0.0, 'best': -1e9, 'history': [], 'config': config}
    if init:
        config['init'] = {'checkpoint': os.path.abspath(a.init), 'step': init['state']['step'],
                          'minutes': round(init['state'].get('elapsed', 0) / 60, 2), 'recalibrate_bn': a.recalibrate_bn}
        if a.recalibrate_bn:
            recalibrate_bn(model, train, a.recalibrate_bn, a.batch, a.frames, window, device, gen)
        scores = validate(model, val, window, device)
        state.update(step=init['state']['step'], best=float(np.mean(list(scores.values()))),
                     history=[{'step': init['state']['step'], 'minutes': 0.0, **scores}])
        print(f"init {a.init} (step {init['state']['step']}{', batch norms recalibrated' if a.recalibrate_bn else ''}): val SDR "
              + ' '.join(f'{k} {v:.2f}' for k, v in scores.items()) + f" mean {state['best']:.3f}", flush=True)
        torch.save({'model': model.state_dict(), 'state': state}, os.path.join(a.out, 'best.pt'))
        save_npz(model, state, os.path.join(a.out, 'best.npz'))
        if a.eval_only:
            return
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
    print(f'{len(train)} training songs, {len(extra)} extra vocal clips, {len(val)} validation songs, device {device}, '
          f'{sum(x.numel() for x in model.parameters())} parameters, config {config}', flush=True)
    train_mode(model, a.freeze_bn)
    while time.time() - start < budget:
        lr = a.lr * 0.5 * (1 + math.cos(math.pi * min(1.0, (time.time() - start) / budget)))
        for g in opt.param_groups:
            g['lr'] = lr
        x = random_batch(train, a.batch, a.frames, device, gen, extra, a.extra_vocals_p)  # [B, S, 2, L]
        specs = stft_mag(x, window)  # [B, S, 2, BINS, T] complex
        mix_spec = stft_mag(x.sum(1), window)  # [B, 2, BINS, T] complex
        y = model(mix_spec.abs().transpose(-1, -2))  # [B, S, 2, T, BINS]
        loss = (y - specs.abs().transpose(-1, -2)).abs().mean()
        if a.complex_loss:
            loss = loss + a.complex_loss * torch.view_as_real(ratio_mask_estimate(y, mix_spec) - specs).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        state['step'] += 1
        elapsed = time.time() - start
        if elapsed >= next_eval or elapsed >= budget:
            scores = validate(model, val, window, device)
            score = float(np.mean(list(scores.values())))
            state['elapsed'] = elapsed
            state['history'].append({'step': state['step'], 'minutes': elapsed / 60, 'loss': loss.item(), **scores})
            print(f"step {state['step']} {elapsed / 60:.1f} min loss {loss.item():.4f} val SDR " + ' '.join(f'{k} {v:.2f}' for k, v in scores.items())
                  + f' mean {score:.3f}', flush=True)
            if a.keep_evals:
                save_npz(model, state, os.path.join(a.out, f"eval-{state['step']}.npz"))
            if score > state['best']:
                state['best'] = score
                torch.save({'model': model.state_dict(), 'state': state}, os.path.join(a.out, 'best.pt'))
                save_npz(model, state, os.path.join(a.out, 'best.npz'))
            torch.save({'model': model.state_dict(), 'opt': opt.state_dict(), 'state': state}, last)
            next_eval = elapsed + a.eval_minutes * 60
            train_mode(model, a.freeze_bn)
    print(f"done: {state['step']} steps in {(time.time() - start) / 60:.1f} min, best validation score {state['best']:.2f} dB")


if __name__ == '__main__':
    main()
