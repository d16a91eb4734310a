#!/usr/bin/python3
"""ONNX golden files from torch.onnx.export for Rnn.Fast.Onnx's importer.

Builds small random nn.RNN (tanh, relu) / nn.LSTM / nn.GRU models -- stacked, bidirectional, with and without an
nn.Linear head (exported as MatMul + Add, or as Gemm when the head sees a 2-D tensor) and an optional
Sigmoid/Tanh/ReLU/Softmax after it -- and exports each with torch.onnx.export at opset 11, 14 or 17, with dynamic
T/B axes or fixed ones. Per case NAME it writes:
    NAME.onnx          the exported model
    NAME.input.npy     the input, in the layout of the ONNX input ([T, B, I], or [B, T, I] for batch_first)
    NAME.output.npy    PyTorch's output in the layout of the ONNX output
    NAME.h_n.npy       final h [layers * directions, B, H] (and NAME.c_n.npy for LSTM) from PyTorch
    NAME.h0.npy/.c0.npy  the initial state fed to models that take it as a graph input
Run with the system Python that has PyTorch (Debian: apt-get install python3-torch):
    /usr/bin/python3 tools/onnx/generate.py tests/Rnn.Fast.Tests/Golden/onnx
Seeded; CI only reads the committed files and needs neither Python nor PyTorch.
"""
import os
import sys

import numpy as np
import torch

T, B = 7, 2

HEAD_ACTIVATIONS = {
    None: lambda y: y,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "softmax": lambda y: torch.softmax(y, dim=-1),
}


class Net(torch.nn.Module):
    """An RNN, an optional linear head and activation; optionally returns the final state and takes h0/c0."""

    def __init__(self, kind, rnn_args, head, activation, gemm=False, return_state=False, state_input=False,
                 learned_state=False):
        super().__init__()
        self.kind = kind
        self.rnn = getattr(torch.nn, kind)(**rnn_args)
        directions = 2 if rnn_args.get("bidirectional") else 1
        self.hidden = rnn_args["hidden_size"]
        self.layers = rnn_args.get("num_layers", 1) * directions
        self.batch_first = rnn_args.get("batch_first", False)
        self.head = torch.nn.Linear(self.hidden * directions, head) if head else None
        self.activation = HEAD_ACTIVATIONS[activation]
        self.gemm = gemm
        self.return_state = return_state
        self.state_input = state_input
        if learned_state:
            # A trained initial state, the same for every stream: exported as a constant (Expand to the batch).
            self.h0 = torch.nn.Parameter(torch.randn(self.layers, 1, self.hidden) * 0.5)
            self.c0 = torch.nn.Parameter(torch.randn(self.layers, 1, self.hidden) * 0.5) if kind == "LSTM" else None
        else:
            self.h0 = None

    def forward(self, x, *state):
        if self.h0 is not None:
            batch = x.shape[0] if self.batch_first else x.shape[1]
            h0 = self.h0.expand(self.layers, batch, self.hidden).contiguous()
            state = ((h0, self.c0.expand(self.layers, batch, self.hidden).contiguous()),) if self.kind == "LSTM" else (h0,)
        elif state:
            state = (tuple(state),) if self.kind == "LSTM" else (state[0],)
        y, h = self.rnn(x, *state)
        if self.head is not None:
            if self.gemm:
                shape = y.shape
                y = self.head(y.reshape(-1, shape[-1])).reshape(shape[0], shape[1], -1)
            else:
                y = self.head(y)
        y = self.activation(y)
        if not self.return_state:
            return y
        return (y, h[0], h[1]) if self.kind == "LSTM" else (y, h)


# name, kind, rnn args, head size (0: none), head activation, opset, dynamic axes, extra Net options
CASES = [
    ("lstm_head_o11_dyn", "LSTM", dict(input_size=3, hidden_size=5), 2, None, 11, True, {}),
    ("lstm_bidir_stacked_sigmoid_o14_dyn", "LSTM", dict(input_size=3, hidden_size=4, num_layers=2, bidirectional=True), 3,
     "sigmoid", 14, True, dict(return_state=True)),
    ("lstm_plain_o17_fixed", "LSTM", dict(input_size=2, hidden_size=6), 0, None, 17, False, dict(return_state=True)),
    ("lstm_state_input_o14_dyn", "LSTM", dict(input_size=3, hidden_size=4, num_layers=2), 1, None, 14, True,
     dict(state_input=True, return_state=True)),
    ("lstm_learned_state_o17_dyn", "LSTM", dict(input_size=2, hidden_size=5, num_layers=2), 2, "tanh", 17, True,
     dict(learned_state=True)),
    ("lstm_batch_first_gemm_o14_fixed", "LSTM", dict(input_size=3, hidden_size=5, batch_first=True), 2, None, 14, False,
     dict(gemm=True)),
    ("gru_stacked_tanh_o17_dyn", "GRU", dict(input_size=3, hidden_size=5, num_layers=2), 2, "tanh", 17, True,
     dict(return_state=True)),
    ("gru_bidir_o11_fixed", "GRU", dict(input_size=3, hidden_size=4, bidirectional=True), 0, None, 11, False, {}),
    ("gru_gemm_relu_o11_dyn", "GRU", dict(input_size=2, hidden_size=6), 3, "relu", 11, True, dict(gemm=True)),
    ("rnn_tanh_stacked_relu_o14_fixed", "RNN", dict(input_size=3, hidden_size=5, num_layers=2), 2, "relu", 14, False,
     dict(return_state=True)),
    ("rnn_relu_bidir_softmax_o17_dyn", "RNN", dict(input_size=3, hidden_size=4, bidirectional=True, nonlinearity="relu"),
     3, "softmax", 17, True, {}),
    ("rnn_relu_stacked_bidir_o11_dyn", "RNN",
     dict(input_size=2, hidden_size=3, num_layers=2, bidirectional=True, nonlinearity="relu"), 0, None, 11, True,
     dict(return_state=True)),
    # Without torch's constant folding: the gate reordering and direction stacking stay as Slice/Concat/Unsqueeze
    # nodes on the raw PyTorch weights, for the importer to fold.
    ("gru_bidir_stacked_unfolded_o14_dyn", "GRU", dict(input_size=3, hidden_size=4, num_layers=2, bidirectional=True), 2,
     "sigmoid", 14, True, dict(export=dict(do_constant_folding=False))),
    ("lstm_unfolded_initializers_as_inputs_o11_fixed", "LSTM", dict(input_size=2, hidden_size=3), 1, None, 11, False,
     dict(return_state=True, export=dict(do_constant_folding=False, keep_initializers_as_inputs=True))),
]


def main(out):
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(20260601)
    for name, kind, args, head, activation, opset, dynamic, extra in CASES:
        export_options = extra.pop("export", {})
        net = Net(kind, args, head, activation, **extra).eval()
        batch_first = args.get("batch_first", False)
        x = torch.randn((B, T, args["input_size"]) if batch_first else (T, B, args["input_size"]))
        inputs = (x,)
        input_names = ["x"]
        if extra.get("state_input"):
            h0 = torch.randn(net.layers, B, args["hidden_size"]) * 0.5
            inputs += (h0,)
            input_names.append("h0")
            if kind == "LSTM":
                c0 = torch.randn(net.layers, B, args["hidden_size"]) * 0.5
                inputs += (c0,)
                input_names.append("c0")
        with torch.no_grad():
            result = net(*inputs)
        outputs = result if isinstance(result, tuple) else (result,)
        output_names = ["y", "h_n", "c_n"][:len(outputs)]
        dynamic_axes = None
        if dynamic:
            seq = {0: "batch", 1: "steps"} if batch_first else {0: "steps", 1: "batch"}
            dynamic_axes = {"x": seq, "y": seq}
            for n in input_names[1:] + output_names[1:]:
                dynamic_axes[n] = {1: "batch"}
        path = os.path.join(out, name + ".onnx")
        torch.onnx.export(net, inputs, path, input_names=input_names, output_names=output_names,
                          dynamic_axes=dynamic_axes, opset_version=opset, **export_options)
        np.save(os.path.join(out, name + ".input.npy"), x.numpy().astype(np.float32))
        np.save(os.path.join(out, name + ".output.npy"), outputs[0].numpy().astype(np.float32))
        if extra.get("state_input"):
            for n, v in zip(input_names[1:], inputs[1:]):
                np.save(os.path.join(out, name + "." + n + ".npy"), v.numpy().astype(np.float32))
        for n, v in zip(output_names[1:], outputs[1:]):
            np.save(os.path.join(out, name + "." + n + ".npy"), v.numpy().astype(np.float32))
        print(name, kind, args, "head", head, activation, "opset", opset, "dynamic" if dynamic else "fixed",
              os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..", "tests", "Rnn.Fast.Tests", "Golden", "onnx"))
