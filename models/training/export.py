#!/usr/bin/env python3
"""Export a trained checkpoint to ONNX in the engine's contract and write its model.json.

  export.py [--checkpoint best.pt|best.npz] [--out models/default]
A .npz checkpoint (train.py writes one beside best.pt) loads with any torch version, so a model
trained on the GPU machine's newer torch exports here.
"""
import argparse
import hashlib
import json
import os

import onnx
import torch

from checkpoint import channels_of, load_checkpoint
from model import STEMS, SpleeterContract, StemUNet


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser()
    p.add_argument('--checkpoint', default=os.path.join(os.path.expanduser('~'), '.cache', 'stem-splitter', 'training', 'run', 'best.pt'))
    p.add_argument('--out', default=os.path.join(here, '..', 'default'))
    p.add_argument('--id', default='default')
    a = p.parse_args()
    ck = load_checkpoint(a.checkpoint)
    net = StemUNet(channels=channels_of(ck))
    net.load_state_dict(ck['model'])
    wrapper = SpleeterContract(net).eval()
    os.makedirs(a.out, exist_ok=True)
    path = os.path.join(a.out, 'model.onnx')
    outputs = [f'y_{s}' for s in STEMS]
    x = torch.rand(2, 1, 512, 1024)
    torch.onnx.export(wrapper, x, path, input_names=['x'], output_names=outputs, opset_version=13,
                      dynamic_axes={'x': {1: 'num_splits'}, **{o: {1: 'num_splits'} for o in outputs}})
    m = onnx.load(path)
    history = ck['state'].get('history', [])
    meta = {'model_type': 'spleeter', 'stems': str(len(STEMS)), 'sample_rate': '44100', 'stem_names': ','.join(STEMS),
            'training_steps': str(ck['state']['step']), 'training_minutes': f"{ck['state']['elapsed'] / 60:.1f}"}
    del m.metadata_props[:]
    for k, v in meta.items():
        e = m.metadata_props.add()
        e.key, e.value = k, v
    onnx.save(m, path)
    sha = hashlib.sha256(open(path, 'rb').read()).hexdigest()
    manifest_path = os.path.join(a.out, 'model.json')
    previous = json.load(open(manifest_path)) if os.path.exists(manifest_path) else {}
    manifest = {
        'id': a.id, 'family': 'spleeter',
        'description': 'Embedded 4-stem model: spectrogram U-Net with a recurrent bottleneck, trained on MUSDB18 (7-second previews)',
        'stems': STEMS, 'residualStem': 'other',
        'files': [{'path': 'model.onnx', 'sha256': sha, 'input': 'x', 'outputs': {s: f'y_{s}' for s in STEMS}}],
        'sampleRate': 44100, 'stft': {'nFft': 4096, 'hop': 1024, 'window': 'hann-periodic', 'center': False},
        'bins': 1024, 'framesPerSplit': 512, 'highBand': 'residual',
        # the Wiener defaults were measured for a model: kept across re-exports, re-measure them
        **({'wiener': previous['wiener']} if 'wiener' in previous else {}),
        'licence': 'Trained on MUSDB18 (non-commercial research and evaluation only); weights inherit that restriction',
        'source': 'models/training (prepare.py, train.py, export.py)',
    }
    with open(manifest_path, 'w') as f:
        json.dump(manifest, f, indent=2)
    print(path, os.path.getsize(path), 'bytes; validation history:', history[-1] if history else 'none')


if __name__ == '__main__':
    main()
