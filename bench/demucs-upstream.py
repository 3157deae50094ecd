#!/usr/bin/env python3
"""bench:demucs's reference: upstream Demucs' own apply_model (PyTorch, CPU) on a WAV with the
bench's random-weight full-size HTDemucs (the same weights the ONNX file holds). Prints one JSON
line: wall seconds of apply_model, load seconds, audio seconds, peak RSS.

  python3 bench/demucs-upstream.py INPUT.wav THREADS [OVERLAP]   (upstream demucs on PYTHONPATH)
"""
import json
import os
import resource
import sys
import time

import numpy as np
import soundfile as sf
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'models', 'convert'))
from demucs_random import full_size_htdemucs  # noqa: E402


def main():
    wav, threads = sys.argv[1], int(sys.argv[2])
    overlap = float(sys.argv[3]) if len(sys.argv) > 3 else 0.25
    torch.set_num_threads(threads)
    from demucs.apply import apply_model
    t0 = time.perf_counter()
    model = full_size_htdemucs(4)
    x, rate = sf.read(wav, dtype='float32', always_2d=True)
    mix = torch.from_numpy(np.ascontiguousarray(x.T))[None]
    t1 = time.perf_counter()
    with torch.no_grad():
        out = apply_model(model, mix, shifts=0, split=True, overlap=overlap, progress=False)
    t2 = time.perf_counter()
    assert out.shape[-1] == mix.shape[-1]
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({'loadSeconds': t1 - t0, 'separateSeconds': t2 - t1, 'audioSeconds': x.shape[0] / rate,
                      'frames': x.shape[0], 'cpuSeconds': usage.ru_utime + usage.ru_stime, 'threads': torch.get_num_threads(),
                      'peakRssMb': usage.ru_maxrss / 1024}))


if __name__ == '__main__':
    main()
