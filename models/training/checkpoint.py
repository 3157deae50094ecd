"""Checkpoints as plain arrays: what train.py writes (.npz, or .pt on the machine that trained) and
what export.py, average.py and train.py --init read. A .npz loads with any torch or numpy version."""
import json
import os

import numpy as np
import torch


def save_npz(model, state, path, part_bytes=15 << 20):
    """The weights as plain arrays plus the state as JSON: readable by any torch or numpy version.
    Split into path, path.1.npz, ... of at most part_bytes each (the device tool returns files of
    at most 16 MiB)."""
    arrays = {k: v.detach().float().cpu().numpy() for k, v in model.state_dict().items()}
    save_arrays(arrays, state, path, part_bytes)


def save_arrays(arrays, state, path, part_bytes=15 << 20):
    parts, size = [{'__state__': np.frombuffer(json.dumps(state).encode(), dtype=np.uint8)}], 0
    for k, v in arrays.items():
        if size + v.nbytes > part_bytes and len(parts[-1]) > 0:
            parts.append({})
            size = 0
        parts[-1][k] = v
        size += v.nbytes
    for i, part in enumerate(parts):
        name = path if i == 0 else f'{path[:-4]}.{i}.npz'
        np.savez(name + '.tmp.npz', **part)
        os.replace(name + '.tmp.npz', name)


def load_checkpoint(path):
    """{'model': state dict of tensors, 'state': train.py's state (step, config, history, ...)}."""
    if not path.endswith('.npz'):
        return torch.load(path, map_location='cpu')
    parts = [np.load(path)]
    while os.path.exists(f'{path[:-4]}.{len(parts)}.npz'):  # save_npz splits large checkpoints
        parts.append(np.load(f'{path[:-4]}.{len(parts)}.npz'))
    state = json.loads(bytes(parts[0]['__state__']).decode())
    weights = {k: torch.from_numpy(z[k]) for z in parts for k in z.files if k != '__state__'}
    return {'model': weights, 'state': state}


def channels_of(ck, default=(16, 32, 64, 128, 160)):
    return tuple(ck['state'].get('config', {}).get('channels', default))
