#!/usr/bin/python3
"""Golden files from PyTorch itself for Rnn.Fast's loaders and kernels.

Builds small random nn.RNN (tanh, relu) / nn.LSTM / nn.GRU models (stacked, bidirectional, with and
without an nn.Linear head), saves each one's state_dict as safetensors (written by hand with struct+json,
so the `safetensors` package is not needed), and saves a time-major input [T, B, I], PyTorch's output
[T, B, O] and final h (and c) [layers * directions, B, H] as .npy.

Run with the system Python that has PyTorch (Debian: apt-get install python3-torch):
    /usr/bin/python3 tools/golden/generate.py tests/Rnn.Fast.Tests/Golden
The output is deterministic for a given PyTorch version (seeded); CI only reads the committed files.
"""
import json
import os
import struct
import sys

import numpy as np
import torch

T, B = 24, 2

# name, module, kwargs, head (output size or 0), prefixes, dtype of the stored weights, metadata
CASES = [
    ("rnn_tanh_head", "RNN", dict(input_size=3, hidden_size=5, nonlinearity="tanh"), 2, ("rnn.", "lin."), "F32", {}),
    ("rnn_relu_stacked", "RNN", dict(input_size=4, hidden_size=7, num_layers=2, nonlinearity="relu"), 0, ("rec.", None), "F32",
     {"rnnfast.nonlinearity": "relu"}),
    ("rnn_tanh_bidir_stacked", "RNN", dict(input_size=3, hidden_size=4, num_layers=2, bidirectional=True), 3, ("rnn.", "fc."), "F32", {}),
    ("lstm_1x8_head", "LSTM", dict(input_size=1, hidden_size=8), 1, ("lstm.", "lin."), "F64", {}),
    ("lstm_stacked_head", "LSTM", dict(input_size=5, hidden_size=16, num_layers=2), 3, ("rec.", "head."), "F32", {}),
    ("lstm_odd", "LSTM", dict(input_size=7, hidden_size=33), 0, ("", None), "F32", {}),
    ("lstm_bidir_head", "LSTM", dict(input_size=4, hidden_size=6, bidirectional=True), 2, ("lstm.", "fc."), "F32", {}),
    ("gru_small", "GRU", dict(input_size=2, hidden_size=6), 0, ("gru.", None), "F16", {}),
    ("gru_stacked_head", "GRU", dict(input_size=3, hidden_size=12, num_layers=2), 2, ("rec.", "lin."), "BF16", {}),
    ("gru_bidir_stacked", "GRU", dict(input_size=3, hidden_size=5, num_layers=2, bidirectional=True), 0, ("rnn.", None), "F32", {}),
]

DTYPES = {"F32": (torch.float32, np.float32), "F64": (torch.float64, np.float64), "F16": (torch.float16, np.float16)}


def tensor_bytes(tensor, dtype):
    if dtype == "BF16":
        # numpy has no bfloat16: take the top 16 bits of the float32 pattern of values already rounded to bf16.
        bits = tensor.to(torch.bfloat16).to(torch.float32).numpy().astype("<f4").view("<u4") >> 16
        return bits.astype("<u2").tobytes()
    return tensor.to(DTYPES[dtype][0]).numpy().astype(np.dtype(DTYPES[dtype][1]).newbyteorder("<")).tobytes()


def write_safetensors(path, tensors, dtype, metadata):
    header = {}
    if metadata:
        header["__metadata__"] = metadata
    blobs, offset = [], 0
    for name, tensor in tensors.items():
        blob = tensor_bytes(tensor, dtype)
        header[name] = {"dtype": dtype, "shape": list(tensor.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def main(out):
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(20240601)
    for name, kind, kwargs, head_size, (rnn_prefix, head_prefix), dtype, metadata in CASES:
        rnn = getattr(torch.nn, kind)(**kwargs)
        directions = 2 if kwargs.get("bidirectional") else 1
        head = torch.nn.Linear(kwargs["hidden_size"] * directions, head_size) if head_size else None
        # Round the weights to the stored dtype first, so the file holds exactly the weights PyTorch ran.
        with torch.no_grad():
            for module in [rnn] + ([head] if head else []):
                for p in module.parameters():
                    if dtype == "BF16":
                        p.copy_(p.to(torch.bfloat16).to(torch.float32))
                    elif dtype == "F16":
                        p.copy_(p.to(torch.float16).to(torch.float32))
        x = torch.randn(T, B, kwargs["input_size"])
        with torch.no_grad():
            y, state = rnn(x)
            if head:
                y = head(y)
        tensors = {rnn_prefix + k: v.detach() for k, v in rnn.state_dict().items()}
        if head:
            tensors.update({head_prefix + k: v.detach() for k, v in head.state_dict().items()})
        write_safetensors(os.path.join(out, name + ".safetensors"), tensors, dtype, metadata)
        h, c = state if kind == "LSTM" else (state, None)
        np.save(os.path.join(out, name + ".input.npy"), x.numpy().astype(np.float32))
        np.save(os.path.join(out, name + ".output.npy"), y.numpy().astype(np.float32))
        np.save(os.path.join(out, name + ".h_n.npy"), h.numpy().astype(np.float32))
        if c is not None:
            np.save(os.path.join(out, name + ".c_n.npy"), c.numpy().astype(np.float32))
        print(name, kind, kwargs, "head", head_size, dtype)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..", "tests", "Rnn.Fast.Tests", "Golden"))
