#!/usr/bin/python3
"""The PyTorch half of the FromPyTorch sample: train a small batch-first GRU + linear head, export it for Rnn.Fast.

    /usr/bin/python3 samples/FromPyTorch/train.py OUT_DIR

writes OUT_DIR/model.safetensors (with tools/export/rnnfast_export.py) and OUT_DIR/expected.json (PyTorch's output
for the sample's input). The committed model.safetensors and expected.json beside this script were made this way;
the C# program runs this script itself when PyTorch is installed, and uses the committed files otherwise.
"""
import json
import math
import os
import sys

import torch
import torch.nn as nn


def _find_exporter():
    """tools/export of the repository this script is in (also when run from a build output folder)."""
    directory = os.path.dirname(os.path.abspath(__file__))
    while True:
        candidate = os.path.join(directory, "tools", "export")
        if os.path.isfile(os.path.join(candidate, "rnnfast_export.py")):
            return candidate
        parent = os.path.dirname(directory)
        if parent == directory:
            raise SystemExit("tools/export/rnnfast_export.py not found above " + os.path.abspath(__file__))
        directory = parent


sys.path.insert(0, _find_exporter())
from rnnfast_export import export  # noqa: E402

BATCH, STEPS = 2, 50


class Smoother(nn.Module):
    """Learns a one-pole low-pass filter y[t] = 0.8 y[t-1] + 0.2 x[t]: a GRU and a linear head, batch-first."""

    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(input_size=1, hidden_size=8, batch_first=True)
        self.head = nn.Linear(8, 1)

    def forward(self, x):  # x: [B, T, 1]
        return self.head(self.gru(x)[0])


def sample_input():
    """The input the C# program builds too: x[b, t] = sin(0.2 t + b), computed in double, stored as float32."""
    x = [[[math.sin(0.2 * t + b)] for t in range(STEPS)] for b in range(BATCH)]
    return torch.tensor(x, dtype=torch.float32)


def main(out):
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(5)
    model = Smoother()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    for _ in range(150):
        x = torch.randn(16, 40, 1)
        y = torch.zeros_like(x)
        for t in range(x.shape[1]):
            y[:, t] = (0.8 * y[:, t - 1] if t else 0) + 0.2 * x[:, t]
        loss = nn.functional.mse_loss(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    print("trained: MSE %.5f" % loss.item())

    export(model, os.path.join(out, "model.safetensors"))  # records batch_first=true from the GRU
    with torch.no_grad():
        output = model(sample_input())
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump({"batch": BATCH, "steps": STEPS, "output": output.reshape(-1).tolist()}, f)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__)))
