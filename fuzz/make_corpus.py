#!/usr/bin/env python3
"""Writes the seed corpora in fuzz/corpus/<target>/: small valid files and a few near misses for
each parser, in the input format each fuzz target documents. Run it again after changing a format;
the files it writes are committed so that scripts/fuzz.sh starts from them."""

import gzip
import json
import os
import struct
import zlib

here = os.path.dirname(os.path.abspath(__file__))


def write(target, name, data):
    d = os.path.join(here, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def gz(data):
    return gzip.compress(data, mtime=0)


# --- IDX: mode byte, label file length (big-endian u16), label file, image file ---
def idx_images(n, rows, cols, count=None):
    head = struct.pack(">IIII", 0x803, n if count is None else count, rows, cols)
    return head + bytes((i * 31 + k * 3 + 1) & 0xFF for i in range(n) for k in range(rows * cols))


def idx_labels(labels, count=None):
    return struct.pack(">II", 0x801, len(labels) if count is None else count) + bytes(labels)


def idx_input(mode, labels, images):
    return bytes([mode]) + struct.pack(">H", len(labels)) + labels + images


good_images, good_labels = idx_images(3, 4, 5), idx_labels([1, 2, 9])
write("idx", "plain", idx_input(0, good_labels, good_images))
write("idx", "gzip_by_harness", idx_input(3, good_labels, good_images))
write("idx", "gzip_in_input", idx_input(0, gz(good_labels), gz(good_images)))
write("idx", "truncated_images", idx_input(0, good_labels, good_images[:-7]))
write("idx", "trailing_data", idx_input(0, good_labels, good_images + b"\0\0"))
write("idx", "count_mismatch", idx_input(0, idx_labels([1, 2]), good_images))
write("idx", "label_too_big", idx_input(0, idx_labels([1, 2, 10]), good_images))
write("idx", "bad_magic", idx_input(0, good_labels, b"\0\0\x08\x01" + good_images[4:]))
write("idx", "lying_count", idx_input(1, idx_labels([1, 2, 9], 0xFFFFFFFF), idx_images(3, 4, 5, 0xFFFFFFFF)))
write("idx", "huge_dims", idx_input(0, good_labels, struct.pack(">IIII", 0x803, 3, 0xFFFFFFFF, 0xFFFFFFFF)))
write("idx", "truncated_gzip", idx_input(0, good_labels, gz(good_images)[:-10]))

# --- CIFAR-10: mode byte, then the batch file ---
def cifar(labels):
    return b"".join(bytes([l]) + bytes((r * 13 + k) & 0xFF for k in range(3072)) for r, l in enumerate(labels))


write("cifar", "plain", b"\0" + cifar([3, 7]))
write("cifar", "gzip_by_harness", b"\1" + cifar([0, 9]))
write("cifar", "two_batches", b"\2" + cifar([5]))
write("cifar", "gzip_in_input", b"\0" + gz(cifar([1])))
write("cifar", "partial_record", b"\0" + cifar([1])[:-1])
write("cifar", "label_too_big", b"\0" + cifar([10]))
write("cifar", "empty", b"\0")

# --- checkpoint: mode byte (bit 0: fix the CRC, bit 1: fix the size), then the file ---
def ckpt_payload(tensors, config='{"options":{}}', rng="42", epoch=1, step=10, count=None):
    def s(b):
        b = b.encode() if isinstance(b, str) else b
        return struct.pack("<I", len(b)) + b

    p = struct.pack("<iq", epoch, step) + s(config) + s(rng)
    p += struct.pack("<I", len(tensors) if count is None else count)
    for name, shape, data in tensors:
        p += s(name) + struct.pack("<I", len(shape)) + b"".join(struct.pack("<i", d) for d in shape)
        p += b"".join(struct.pack("<f", v) for v in data)
    return p


def ckpt(payload, version=1):
    return b"HNNCKPT\0" + struct.pack("<IIQ", version, zlib.crc32(payload), len(payload)) + payload


tensors = [("conv1.filter", [2, 1, 1, 1], [0.5, -1.0]), ("scalar", [], [3.0])]
good = ckpt(ckpt_payload(tensors))
write("checkpoint", "valid", b"\0" + good)
write("checkpoint", "valid_fixed", b"\3" + good)
write("checkpoint", "no_tensors", b"\0" + ckpt(ckpt_payload([], config="", rng="")))
write("checkpoint", "bad_crc", b"\0" + good[:12] + b"\0\0\0\0" + good[16:])
write("checkpoint", "newer_version", b"\0" + ckpt(ckpt_payload(tensors), version=2))
write("checkpoint", "truncated", b"\2" + good[:-3])
write("checkpoint", "rank_9", b"\3" + ckpt(ckpt_payload([("t", [1] * 9, [1.0])])))
write("checkpoint", "huge_dims", b"\3" + ckpt(ckpt_payload([("t", [0x7FFFFFFF] * 8, [])])))
write("checkpoint", "huge_count", b"\3" + ckpt(ckpt_payload(tensors, count=0xFFFFFFFF)))
write("checkpoint", "duplicate_name", b"\3" + ckpt(ckpt_payload([("a", [1], [1.0]), ("a", [1], [2.0])])))
write("checkpoint", "lying_size", b"\1" + good[:16] + struct.pack("<Q", 1 << 62) + good[24:])

# --- model files ---
readme = {"layers": [
    {"type": "conv", "out_channels": 32, "kernel": 5, "stride": 2, "padding": "same", "bias": False, "activation": "relu"},
    {"type": "max_pool", "kernel": 2, "stride": 2},
    {"type": "activation", "name": "tanh"},
    {"type": "conv", "out_channels": 10, "kernel": 1, "activation": "none"},
    {"type": "global_avg_pool"}]}
write("model_file", "readme", json.dumps(readme))
write("model_file", "every_field", json.dumps({"name": "m", "layers": [
    {"type": "dropout", "rate": 0.2},
    {"type": "conv", "out_channels": 8, "kernel": 3, "padding": "1x2", "bias": True,
     "activation": {"name": "celu", "alpha": 2}},
    {"type": "avg_pool", "kernel": 2},
    {"type": "conv", "out_channels": 10, "kernel": 3, "padding": "valid", "activation": {"name": "rrelu", "rrelu_lower": 0.1, "rrelu_upper": 0.2}},
    {"type": "conv", "out_channels": 10, "kernel": 1, "padding": 0, "activation": "softplus"},
    {"type": "global_avg_pool"}]}))
write("model_file", "unknown_field", '{"layers": [{"type": "conv", "out_channels": 10, "kernel": 1, "colour": 1}]}')
write("model_file", "bad_padding", '{"layers": [{"type": "conv", "out_channels": 10, "kernel": 1, "padding": "3y4"}]}')
write("model_file", "not_json", '{"layers": [{"type": "conv",')
write("model_file", "nested", '{"layers": [[[[[[[[1]]]]]]]]}')

# --- --param: activation name, then one assignment per line ---
write("param", "celu", "celu\ncelu.alpha=2")
write("param", "rrelu", "rrelu\nrrelu.lower=0.1\nrrelu.upper=0.2")
write("param", "softplus", "softplus\nsoftplus.beta=0.5\nsoftplus.threshold=10")
write("param", "leaky", "leaky_relu\nleaky_relu.negative_slope=-1e3")
write("param", "bad_value", "elu\nelu.alpha=inf")
write("param", "unknown_param", "swish\nswish.gamma=1")
write("param", "celu_zero", "celu\ncelu.alpha=0")
