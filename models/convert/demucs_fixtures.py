#!/usr/bin/env python3
"""Reference fixtures for the `demucs` family tests (test/fixtures/demucs/), made once.

A reduced HTDemucs built with upstream's own classes (fewer channels and transformer layers; the
same code paths: frequency and time branches, cross-transformer, 4 stems, the official 7.8-s
segment), seeded random weights with the biases zeroed so the network is well-conditioned (a
1e-6 relative input change moves the output by about 1e-6, printed below), exported with
demucs_onnx.py; then upstream's unmodified `demucs.apply.apply_model` (shifts=0, overlap=0.25,
split=True) on MUSDB test mixtures (decoded and resampled to 8 kHz by ffmpeg), stored as 16-bit FLAC
(scaled per stem and channel; the scales in fixture.json), with the exact 16-bit input next to it.

  PYTHONPATH=<demucs, einops, julius, openunmix/filtering.py> python3 models/convert/demucs_fixtures.py \
      ../shared/datasets/musdb18-7/test test/fixtures/demucs
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys
from fractions import Fraction

import numpy as np
import soundfile as sf
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from demucs_onnx import convert  # noqa: E402

SOURCES = ['drums', 'bass', 'other', 'vocals']
# 8 kHz keeps the committed references small (a 20-s, 8-channel reference at 44.1 kHz is ~10 MB of FLAC);
# the network, the segment (7.8 s) and apply_model's code paths are the same at any rate
RATE = 8000


def reduced_htdemucs(seed):
    from demucs.htdemucs import HTDemucs
    torch.manual_seed(seed)
    m = HTDemucs(SOURCES, channels=4, depth=4, t_layers=2, t_heads=4, dconv_comp=4, segment=Fraction(39, 5), samplerate=RATE)
    with torch.no_grad():
        for name, p in m.named_parameters():
            if name.endswith('bias'):
                p.zero_()
    return m.eval()


def conditioning(model):
    """Relative output change for a 1e-6 relative input change (1e-6 = well-conditioned)."""
    length = int(model.segment * model.samplerate)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(1, 2, length, generator=g) * 0.1
    d = torch.randn(1, 2, length, generator=g)
    with torch.no_grad():
        y = model(x)
        y2 = model(x + 1e-6 * d * x.norm() / d.norm())
    return float((y2 - y).norm() / y.norm())


def decode_s16(files, seconds=None):
    """MUSDB mixtures (stream 0), concatenated, as ffmpeg decodes them to 16-bit (exact in the test too)."""
    pcm = b''.join(subprocess.run(['ffmpeg', '-v', 'error', '-i', f, '-map', '0:0', '-f', 's16le', '-ac', '2', '-ar', str(RATE), '-'],
                                  check=True, capture_output=True).stdout for f in files)
    if seconds is not None:
        pcm = pcm[:int(seconds * RATE) * 4]
    return pcm


def run_upstream(model, pcm):
    from demucs.apply import apply_model
    x = np.frombuffer(pcm, dtype='<i2').reshape(-1, 2).T.astype(np.float32) / 32768.0
    with torch.no_grad():
        out = apply_model(model, torch.from_numpy(x)[None], shifts=0, split=True, overlap=0.25, progress=False)
    return out[0].numpy()  # [S, 2, N]


def store(out, path, bits):
    """[S, 2, N] -> 8-channel FLAC of `bits`-bit values (in 16-bit words, so FLAC drops the unused low bits),
    each channel scaled to its peak. Returns the scales (value = sample x scale) and each stem's SNR in dB
    after quantisation (the ceiling of what the test can measure)."""
    S, C, N = out.shape
    flat = out.reshape(S * C, N).astype(np.float64)
    step = 2 ** (16 - bits)
    scales = np.abs(flat).max(axis=1) / (32767 - step)
    q = (np.round(flat / scales[:, None] / step) * step).astype(np.int16)
    sf.write(path, q.T, RATE, subtype='PCM_16', format='FLAC')
    back = q.astype(np.float64) * scales[:, None]
    snr = [10 * np.log10((flat[2 * s:2 * s + 2] ** 2).sum() / ((flat[2 * s:2 * s + 2] - back[2 * s:2 * s + 2]) ** 2).sum())
           for s in range(S)]
    return [float(s) for s in scales], [round(float(x), 2) for x in snr]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('musdb_test')
    ap.add_argument('out_dir')
    args = ap.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    songs = sorted(os.path.join(args.musdb_test, f) for f in os.listdir(args.musdb_test) if f.endswith('.stem.mp4'))
    a = reduced_htdemucs(0)
    b = reduced_htdemucs(1)
    print('conditioning', conditioning(a), conditioning(b), file=sys.stderr)
    from demucs.apply import BagOfModels
    convert(a, 'demucs-fixture', os.path.join(args.out_dir, 'model'), 'Reduced HTDemucs, seeded random weights (fixture)',
            'models/convert/demucs_fixtures.py', licence='test fixture')
    # the bag: the same first network and a second one; only the second file and the bag's manifest are kept
    bag_weights = [[1.0, 0.0, 0.5, 2.0], [0.25, 1.0, 0.5, 1.0]]
    bag = BagOfModels([reduced_htdemucs(0), b], weights=bag_weights)
    tmp = os.path.join(args.out_dir, 'bag-tmp')
    bag_doc = convert(bag, 'demucs-fixture-bag', tmp, 'Bag of two reduced HTDemucs (fixture)',
                      'models/convert/demucs_fixtures.py', licence='test fixture')
    if bag_doc['files'][0]['sha256'] != json.load(open(os.path.join(args.out_dir, 'model', 'model.json')))['files'][0]['sha256']:
        raise SystemExit('the bag\'s first network should export to the same file as the single model')
    os.replace(os.path.join(tmp, 'demucs-fixture-bag-1.onnx'), os.path.join(args.out_dir, 'model', 'second.onnx'))
    bag_doc['files'][0]['path'] = 'demucs-fixture.onnx'
    bag_doc['files'][1]['path'] = 'second.onnx'
    with open(os.path.join(args.out_dir, 'bag.model.json'), 'w') as f:
        json.dump(bag_doc, f, indent=2)
        f.write('\n')
    for f in os.listdir(tmp):
        os.remove(os.path.join(tmp, f))
    os.rmdir(tmp)
    cases = {
        # a real clip shorter than one segment
        'clip': ([songs[0]], 3.0, a, 16),
        # >= 20 s: four segments, the last one short (its model input takes audio from before it)
        'long': (songs[1:4], 20.0, a, 16),
        'bag': ([songs[4]], 3.0, bag, 16),
    }
    doc = {'upstream': os.environ.get('DEMUCS_UPSTREAM', ''), 'params': sum(p.numel() for p in a.parameters()),
           'conditioning': conditioning(a), 'cases': {}}
    for name, (files, seconds, model, bits) in cases.items():
        pcm = decode_s16(files, seconds)
        out = run_upstream(model, pcm)
        sf.write(os.path.join(args.out_dir, f'{name}.in.flac'), np.frombuffer(pcm, dtype='<i2').reshape(-1, 2), RATE,
                 subtype='PCM_16', format='FLAC')
        scales, snr = store(out, os.path.join(args.out_dir, f'{name}.flac'), bits)
        doc['cases'][name] = {
            'songs': [os.path.basename(f) for f in files], 'seconds': seconds, 'frames': len(pcm) // 4,
            'inputSha256': hashlib.sha256(pcm).hexdigest(), 'model': 'bag' if model is bag else 'single', 'bits': bits,
            'scales': scales, 'quantisationSnrDb': snr,
        }
        print(name, out.shape, file=sys.stderr)
    with open(os.path.join(args.out_dir, 'fixture.json'), 'w') as f:
        json.dump(doc, f, indent=2)
        f.write('\n')


if __name__ == '__main__':
    main()
