#!/usr/bin/env python3
"""PyTorch's time for the training step that `hnn bench` times, on the same machine: the same
network (hnn's presets allconv and celu7, no biases, the activation after every conv, the last
included), the same loss and the same optimizer (Adam), on random images and labels.

    python3 scripts/torch_train_step.py --model allconv --width 96 --batch 128 --device cuda

On a GPU it runs twice: in strict fp32 (hnn's arithmetic) and with PyTorch's default TF32
convolutions (cuDNN rounds the inputs to 10-bit mantissas), so that both comparisons are on record.
Prints one line per mode and, with --json, one JSON object."""
import argparse
import json
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

ACTIVATIONS = {'relu': nn.ReLU, 'elu': nn.ELU, 'tanh': nn.Tanh, 'softsign': nn.Softsign,
               'celu': lambda: nn.CELU(2.0), 'mish': nn.Mish, 'silu': nn.SiLU}


def conv(ci, co, k):
    # TF 'SAME' as hnn: odd kernels pad k // 2 on each side; even kernels pad bottom/right (SamePadEven).
    return nn.Conv2d(ci, co, k, 1, padding=k // 2 if k % 2 else 0, bias=False)


class SamePadEven(nn.Module):
    def __init__(self, k):
        super().__init__()
        self.k = k

    def forward(self, x):
        return F.pad(x, (0, self.k - 1, 0, self.k - 1))


def allconv(act, w):
    A, w2 = ACTIVATIONS[act], 2 * w
    return nn.Sequential(
        conv(3, w, 3), A(), conv(w, w, 3), A(), conv(w, w2, 3), A(), nn.AvgPool2d(2),
        conv(w2, w2, 3), A(), conv(w2, w2, 3), A(), conv(w2, w2, 3), A(), nn.AvgPool2d(2),
        conv(w2, w2, 3), A(), conv(w2, w2, 1), A(), conv(w2, 10, 1), A(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten())


def celu7(act, w):
    # hnn's celu7 on 28x28 one-channel images (mnist, fashion-mnist): four pools.
    A, P = ACTIVATIONS[act], lambda: nn.AvgPool2d(2)
    return nn.Sequential(
        conv(1, w, 5), A(), conv(w, w, 3), A(), P(), conv(w, w, 1), A(), P(), conv(w, w, 3), A(),
        P(), conv(w, w, 1), A(), P(), SamePadEven(2), conv(w, w, 2), A(),
        conv(w, 10, 1), A(), nn.Flatten())


def time_steps(model, images, labels, warmup, repeats, device):
    optimizer = torch.optim.Adam(model.parameters(), 1e-3)

    def step():
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(images), labels).backward()
        optimizer.step()

    def wait():
        if device.type == 'cuda':
            torch.cuda.synchronize()

    for _ in range(warmup):
        step()
    wait()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        wait()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--model', choices=['allconv', 'celu7'], default='allconv')
    p.add_argument('--activation', choices=sorted(ACTIVATIONS),
                   help="default as hnn's: allconv elu, celu7 celu (alpha 2)")
    p.add_argument('--width', type=int)
    p.add_argument('--batch', type=int, default=128)
    p.add_argument('--device', default='cuda')
    p.add_argument('--warmup', type=int, default=5)
    p.add_argument('--repeats', type=int, default=20)
    p.add_argument('--json', action='store_true')
    a = p.parse_args()
    activation = a.activation or ('elu' if a.model == 'allconv' else 'celu')
    device = torch.device(a.device)
    torch.manual_seed(1)
    if a.model == 'allconv':
        model, shape = allconv(activation, a.width or 96), (a.batch, 3, 32, 32)
    else:
        model, shape = celu7(activation, a.width or 200), (a.batch, 1, 28, 28)
    model = model.to(device)
    images = torch.rand(shape, device=device)
    labels = torch.randint(0, 10, (a.batch,), device=device)
    assert model(images).shape == (a.batch, 10)

    torch.backends.cudnn.benchmark = True  # cuDNN picks its fastest algorithm per shape, untimed
    modes = [('fp32', False)] + ([('tf32', True)] if device.type == 'cuda' else [])
    result = {'model': a.model, 'activation': activation, 'width': a.width or (96 if a.model == 'allconv' else 200),
              'batch': a.batch, 'device': str(device), 'torch': torch.__version__,
              'cudnn': torch.backends.cudnn.version() if device.type == 'cuda' else None,
              'gpu': torch.cuda.get_device_name(device) if device.type == 'cuda' else None,
              'statistic': 'median', 'warmup': a.warmup, 'repeats': a.repeats, 'modes': {}}
    for name, tf32 in modes:
        torch.backends.cudnn.allow_tf32 = tf32
        torch.backends.cuda.matmul.allow_tf32 = tf32
        ms = time_steps(model, images, labels, a.warmup, a.repeats, device)
        result['modes'][name] = {'step_ms': ms, 'images_per_s': a.batch / ms * 1e3}
        if not a.json:
            print(f'torch {torch.__version__} {name} on {device}: {a.model} width {result["width"]} batch {a.batch}: '
                  f'step {ms:.3f} ms, {a.batch / ms * 1e3:.1f} images/s')
    if a.json:
        print(json.dumps(result, indent=2))


if __name__ == '__main__':
    main()
