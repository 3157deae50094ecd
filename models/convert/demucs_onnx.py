#!/usr/bin/env python3
"""Export an HTDemucs model (or a bag of them) to ONNX in the project's `demucs` contract.

The contract (the idea of sevagh/demucs.onnx, which the community exports follow): the STFT,
the iSTFT and the padding stay outside the graph; the ONNX core takes

  mix   float32 [1, 2, L]        the waveform segment (L = int(segment x samplerate), 343980 for
                                 the official models: 7.8 s at 44.1 kHz)
  spec  float32 [1, 4, F, T]     its spectrogram as HTDemucs._spec computes it (STFT n_fft 4096,
                                 hop 1024, normalised, reflect-padded by 3/4 hop, last bin dropped,
                                 frames 2 .. T+2 of the centred STFT), complex as channels
                                 (L.re, L.im, R.re, R.im); F = 2048, T = ceil(L / 1024) = 336

and returns

  freq  float32 [1, S, 4, F, T]  the frequency branch, complex as channels (to invert with the
                                 matching iSTFT, HTDemucs._ispec)
  time  float32 [1, S, 2, L]     the time branch

with stem = iSTFT(freq) + time. What runs inside the graph is upstream's own HTDemucs.forward:
this script only replaces the four spectral helpers (_spec, _magnitude, _mask, _ispec) for the
duration of the export, so the exported graph is exactly upstream's network between them.

Usage (on a machine with torch and demucs installed; `get_model` downloads the checkpoints):

  python3 models/convert/demucs_onnx.py htdemucs    OUT_DIR
  python3 models/convert/demucs_onnx.py htdemucs_6s OUT_DIR
  python3 models/convert/demucs_onnx.py htdemucs_ft OUT_DIR   # a bag: one ONNX file per model

OUT_DIR then holds the .onnx files and model.json; `stem-splitter --model OUT_DIR` runs it.
"""
import argparse
import contextlib
import hashlib
import json
import math
import os
import sys

import torch

OPSET = 17
# The repo's manifests of the official models (measured speed and memory, description)
MANIFESTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'manifests')
# bench:demucs on the project's 2-core machine, one full-size HTDemucs (see README): for models
# with no manifest here, per network of the bag
REALTIME_PER_CORE = 0.5
PEAK_MEMORY_MB = 2000


def _segment_samples(model):
    return int(model.segment * model.samplerate)


def _frames(model, length):
    return int(math.ceil(length / model.hop_length))


@contextlib.contextmanager
def core_only(model, spec, captured):
    """Runs HTDemucs.forward between its spectral helpers: `spec` stands in for the magnitude
    (complex as channels), the frequency branch is captured before the mask/iSTFT, and the
    iSTFT contributes nothing, so forward returns the time branch."""
    saved = {k: model.__dict__.get(k) for k in ('_spec', '_magnitude', '_mask', '_ispec')}
    model._spec = lambda x: None
    model._magnitude = lambda z: spec
    model._mask = lambda z, m: captured.__setitem__('freq', m) or m
    model._ispec = lambda z, length=None, scale=0: 0.0
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                model.__dict__.pop(k, None)
            else:
                model.__dict__[k] = v


class Core(torch.nn.Module):
    """(mix, spec) -> (freq, time) with the HTDemucs inside unchanged."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, mix, spec):
        captured = {}
        with core_only(self.model, spec, captured):
            time = self.model(mix)
        return captured['freq'], time


def reference_spec(model, mix):
    """Upstream's own spectrogram of a segment, complex as channels (what the core's `spec` is)."""
    return model._magnitude(model._spec(mix))


def check_model(model):
    from demucs.htdemucs import HTDemucs
    if not isinstance(model, HTDemucs):
        raise SystemExit(f'only HTDemucs models are supported (got {type(model).__name__})')
    if not model.cac:
        raise SystemExit('only complex-as-channels HTDemucs models are supported (cac=True)')
    if model.hop_length * 4 != model.nfft:
        raise SystemExit('the contract needs hop = n_fft / 4')
    if model.audio_channels != 2:
        raise SystemExit('the contract is stereo')
    if not model.use_train_segment:
        raise SystemExit('the contract needs use_train_segment (a fixed segment length)')


def export_core(model, path):
    """Writes the core of `model` to `path` (ONNX, opset 17); returns (L, T)."""
    check_model(model)
    model.eval()
    length = _segment_samples(model)
    gen = torch.Generator().manual_seed(0)
    mix = torch.randn(1, 2, length, generator=gen) * 0.1
    with torch.no_grad():
        spec = reference_spec(model, mix)
    core = Core(model).eval()
    # with gradients on: in no_grad mode nn.MultiheadAttention takes its fused fast path, which has no ONNX export
    with torch.enable_grad():
        torch.onnx.export(core, (mix, spec), path, export_params=True, opset_version=OPSET,
                              do_constant_folding=True, input_names=['mix', 'spec'], output_names=['freq', 'time'])
    return length, spec.shape[-1]


def sha256(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            h.update(block)
    return h.hexdigest()


def manifest(model_id, first, files, weights, description, source, licence):
    """model.json for the `demucs` family (see layers/models/manifest.ts)."""
    length = _segment_samples(first)
    return {
        'id': model_id,
        'family': 'demucs',
        'description': description,
        'stems': list(first.sources),
        'files': [{'path': os.path.basename(f), 'input': 'mix', 'outputs': {},
                   'sha256': sha256(f), 'bytes': os.path.getsize(f)} for f in files],
        'sampleRate': first.samplerate,
        'stft': {'nFft': first.nfft, 'hop': first.hop_length, 'window': 'hann-periodic', 'center': True},
        'bins': first.nfft // 2,
        'framesPerSplit': _frames(first, length),
        'highBand': 'zero',
        'demucs': {'segmentSamples': length, 'weights': weights,
                   'io': {'mix': 'mix', 'spec': 'spec', 'freq': 'freq', 'time': 'time'}},
        'licence': licence,
        'source': source,
    }


def convert(model, model_id, out_dir, description, source, licence='MIT (Demucs weights, facebookresearch/demucs)'):
    """model: an HTDemucs or a BagOfModels of them. Writes <id>[-i].onnx and model.json."""
    os.makedirs(out_dir, exist_ok=True)
    models = list(model.models) if hasattr(model, 'models') else [model]
    weights = [list(map(float, w)) for w in model.weights] if hasattr(model, 'weights') else [[1.0] * len(model.sources)]
    files = []
    for i, m in enumerate(models):
        if _segment_samples(m) != _segment_samples(models[0]):
            raise SystemExit('all models of a bag must share one segment length')
        path = os.path.join(out_dir, f'{model_id}.onnx' if len(models) == 1 else f'{model_id}-{i}.onnx')
        export_core(m, path)
        files.append(path)
    doc = manifest(model_id, models[0], files, weights, description, source, licence)
    # what the time and memory guards need: the repo's measurement of this model, else the full-size HTDemucs' per network
    known = os.path.join(MANIFESTS, f'{model_id}.json')
    ref = json.load(open(known)) if os.path.exists(known) else {}
    if ref and ref['stems'] == doc['stems']:
        doc.update({k: ref[k] for k in ('realtimePerCore', 'peakMemoryMb') if k in ref})
    else:
        doc.update({'realtimePerCore': round(REALTIME_PER_CORE / len(models), 3), 'peakMemoryMb': PEAK_MEMORY_MB})
    with open(os.path.join(out_dir, 'model.json'), 'w') as f:
        json.dump(doc, f, indent=2)
        f.write('\n')
    return doc


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('name', help='pretrained name (htdemucs, htdemucs_6s, htdemucs_ft, ...)')
    ap.add_argument('out_dir')
    ap.add_argument('--repo', help='folder of local checkpoints (demucs --repo)')
    ap.add_argument('--id', help='model id in model.json (default: the name, with _ as -)')
    args = ap.parse_args()
    from demucs.pretrained import get_model
    from pathlib import Path
    model = get_model(args.name, repo=Path(args.repo) if args.repo else None)
    model_id = args.id or args.name.replace('_', '-')
    doc = convert(model, model_id, args.out_dir, f'Demucs {args.name} (HTDemucs), converted by models/convert/demucs_onnx.py',
                  f'facebookresearch/demucs pretrained "{args.name}"')
    print(json.dumps({k: doc[k] for k in ('id', 'stems', 'framesPerSplit')}), file=sys.stderr)


if __name__ == '__main__':
    main()
