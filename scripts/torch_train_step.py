#!/usr/bin/env python3
"""PyTorch's time for the training step that `hnn bench --pytorch` times, on the same machine: the
network hnn describes in a JSON file (its layers, each conv's padding on every side, the shape each
layer must produce), the same loss (cross-entropy) and the same optimizer (Adam at hnn's defaults
and learning rate), on random images and labels. `hnn bench --pytorch` writes the file and runs
this script; it is not meant to be run by hand.

    python3 torch_train_step.py --network NETWORK.json --device cpu --threads 2 --json

On a GPU it runs twice: in strict fp32 (hnn's arithmetic) and with PyTorch's default TF32
convolutions (cuDNN rounds the inputs to 10-bit mantissas), so that both comparisons are on record.
Prints one line per mode and, with --json, one JSON object."""
import argparse
import json
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Swish(nn.Module):
    """x sigmoid(beta x) with a learned beta, as hnn's swish (PyTorch has only SiLU, beta 1)."""

    def __init__(self, beta):
        super().__init__()
        self.beta = nn.Parameter(torch.tensor(float(beta)))

    def forward(self, x):
        return x * torch.sigmoid(self.beta * x)


def activation(a, channels):
    name = a['name']
    simple = {'relu': nn.ReLU, 'softsign': nn.Softsign, 'tanh': nn.Tanh, 'sigmoid': nn.Sigmoid,
              'mish': nn.Mish, 'silu': nn.SiLU}
    if name in simple:
        return simple[name]()
    if name == 'leaky_relu':
        return nn.LeakyReLU(a['negative_slope'])
    if name == 'prelu':
        return nn.PReLU(channels, a['prelu_init'])
    if name == 'rrelu':
        return nn.RReLU(a['rrelu_lower'], a['rrelu_upper'])
    if name == 'elu':
        return nn.ELU(a['alpha'])
    if name == 'celu':
        return nn.CELU(a['alpha'])
    if name == 'softplus':
        return nn.Softplus(a['beta'], a['threshold'])
    if name == 'swish':
        return Swish(a['beta'])
    raise SystemExit(f'torch_train_step.py: no PyTorch counterpart of activation {name!r}')


class Pad(nn.Module):
    """Zeros on each side, as hnn pads: TensorFlow's 'same' puts the odd one at the bottom/right."""

    def __init__(self, left, right, top, bottom):
        super().__init__()
        self.sides = (left, right, top, bottom)

    def forward(self, x):
        return F.pad(x, self.sides)


def build(network):
    """(block, hnn's output shape) for each of hnn's layers; Network.forward(check=True) compares them."""
    layers, channels = [], network['input'][0]
    for i, l in enumerate(network['layers']):
        kind = l['type']
        block = []
        if kind == 'conv':
            p = l['pad']
            # The conv pads the sides' common part itself, as a PyTorch user would write it; only the
            # rest ('same' with an even kernel or a stride) is a separate F.pad, a copy of the input.
            x, y = min(p['left'], p['right']), min(p['top'], p['bottom'])
            if (p['left'], p['right'], p['top'], p['bottom']) != (x, x, y, y):
                block.append(Pad(p['left'] - x, p['right'] - x, p['top'] - y, p['bottom'] - y))
            block.append(nn.Conv2d(channels, l['out_channels'], l['kernel'], l['stride'], padding=(y, x),
                                   bias=l['bias']))
            channels = l['out_channels']
            if l['activation']['name'] != 'identity':
                block.append(activation(l['activation'], channels))
        elif kind == 'avg_pool':
            block.append(nn.AvgPool2d(l['kernel'], l['stride']))
        elif kind == 'max_pool':
            block.append(nn.MaxPool2d(l['kernel'], l['stride']))
        elif kind == 'global_avg_pool':
            block.append(nn.AdaptiveAvgPool2d(1))
        elif kind == 'activation':
            block.append(activation(l['name'], channels))
        elif kind == 'dropout':
            block.append(nn.Dropout(l['rate']))
        else:
            raise SystemExit(f'torch_train_step.py: layer {i}: no PyTorch counterpart of {kind!r}')
        layers.append((nn.Sequential(*block), l['output_shape']))
    return layers


class Network(nn.Module):
    def __init__(self, layers):
        super().__init__()
        self.blocks = nn.ModuleList(b for b, _ in layers)
        self.shapes = [s for _, s in layers]

    def forward(self, x, check=False):
        for i, (block, shape) in enumerate(zip(self.blocks, self.shapes)):
            x = block(x)
            # hnn's shapes are (channels, width, height); PyTorch's (batch, channels, height, width).
            if check and list(x.shape[1:]) != [shape[0], shape[2], shape[1]]:
                raise SystemExit(f'torch_train_step.py: layer {i} makes {list(x.shape[1:])} (c, h, w), '
                                 f'hnn {shape} (c, w, h)')
        return torch.flatten(x, 1)


def time_steps(model, images, labels, adam, warmup, repeats, device):
    optimizer = torch.optim.Adam(model.parameters(), **adam)

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
    p.add_argument('--network', required=True, help="the JSON file hnn bench --pytorch writes")
    p.add_argument('--device', default='cpu')
    p.add_argument('--threads', type=int, help='intra-op threads (default: PyTorch\'s)')
    # Adam as hnn bench runs it, which passes its own values: one place says what they are.
    p.add_argument('--lr', type=float, required=True)
    p.add_argument('--beta1', type=float, required=True)
    p.add_argument('--beta2', type=float, required=True)
    p.add_argument('--eps', type=float, required=True)
    p.add_argument('--warmup', type=int, default=3)
    p.add_argument('--repeats', type=int, default=10)
    p.add_argument('--seed', type=int, default=1)
    p.add_argument('--json', action='store_true')
    a = p.parse_args()
    with open(a.network) as f:
        network = json.load(f)
    if a.threads:
        torch.set_num_threads(a.threads)
    device = torch.device(a.device)
    if device.type == 'cuda' and not torch.cuda.is_available():
        raise SystemExit('torch_train_step.py: --device cuda, but PyTorch sees no CUDA device')
    torch.manual_seed(a.seed)
    model = Network(build(network)).to(device)
    c, w, h = network['input']
    batch = network['batch']
    images = torch.rand((batch, c, h, w), device=device)
    labels = torch.randint(0, network['classes'], (batch,), device=device)
    with torch.no_grad():
        model(images, check=True)
    parameters = sum(p.numel() for p in model.parameters())
    if parameters != network['parameters']:
        raise SystemExit(f'torch_train_step.py: the network learns {parameters} parameters, hnn\'s {network["parameters"]}')

    torch.backends.cudnn.benchmark = True  # cuDNN picks its fastest algorithm per shape, untimed
    modes = [('fp32', False)] + ([('tf32', True)] if device.type == 'cuda' else [])
    result = {'torch': torch.__version__, 'device': str(device), 'threads': torch.get_num_threads(),
              'cudnn': torch.backends.cudnn.version() if device.type == 'cuda' else None,
              'gpu': torch.cuda.get_device_name(device) if device.type == 'cuda' else None,
              'statistic': 'median', 'warmup': a.warmup, 'repeats': a.repeats,
              'adam': {'lr': a.lr, 'beta1': a.beta1, 'beta2': a.beta2, 'eps': a.eps}, 'modes': {}}
    adam = {'lr': a.lr, 'betas': (a.beta1, a.beta2), 'eps': a.eps}  # torch.optim.Adam's arguments
    for name, tf32 in modes:
        torch.backends.cudnn.allow_tf32 = tf32
        torch.backends.cuda.matmul.allow_tf32 = tf32
        ms = time_steps(model, images, labels, adam, a.warmup, a.repeats, device)
        result['modes'][name] = {'step_ms': ms, 'images_per_s': batch / ms * 1e3}
        if not a.json:
            print(f'torch {torch.__version__} {name} on {device}: batch {batch}: step {ms:.3f} ms, '
                  f'{batch / ms * 1e3:.1f} images/s')
    if a.json:
        json.dump(result, sys.stdout)
        print()


if __name__ == '__main__':
    main()
