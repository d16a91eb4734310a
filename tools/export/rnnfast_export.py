#!/usr/bin/env python3
"""Export a PyTorch RNN/LSTM/GRU (with an optional nn.Linear head) to safetensors that Rnn.Fast loads.

Needs only PyTorch and the Python standard library (numpy is used when present, for speed). The writer itself,
`write_safetensors`, needs neither: it takes plain Python lists.

From Python:

    import sys; sys.path.insert(0, "tools/export")
    from rnnfast_export import export
    export(model, "model.safetensors", head_activation="tanh")      # model: an nn.Module

From the command line (the model saved with torch.save(model), or a state_dict):

    python3 tools/export/rnnfast_export.py model.pt model.safetensors --allow-pickle --head-activation tanh
    python3 tools/export/rnnfast_export.py weights.pt model.safetensors --nonlinearity relu --batch-first
    python3 tools/export/rnnfast_export.py weights.pt model.safetensors --precision int8     # or bf16

The file holds the module's own state_dict names (`rnn.weight_ih_l0`, ..., `head.weight`, `head.bias`) and the
`__metadata__` keys Rnn.Fast reads for what the tensors cannot say:

    rnnfast.nonlinearity     Elman f per layer, comma-separated ("tanh,tanh"); nn.RNN only
    rnnfast.head_activation  identity, tanh, relu, sigmoid or softmax: what follows the head in forward()
    rnnfast.skip             S: the output adds the first S input channels (a residual, as in amp models)
    rnnfast.batch_first      "true" or "false": the layout the model was trained with ([B, T, I] or [T, B, I])
    rnnfast.weight_precision "bf16" or "int8" when the weight matrices are stored reduced (precision=...)

Reduced precision (docs/precision-files.md), the exact schemes of Rnn.Fast's WeightQuantization, in float32:
- bf16: every weight matrix (weight_ih_l*, weight_hh_l*, the head's weight) is a BF16 tensor, each float32 weight
  rounded to nearest-even to its upper 16 bits; biases stay F32.
- int8: every weight matrix [rows, K] is an I8 tensor q followed by the F32 tensor "<name>.scale" [rows]:
  s_r = max_j |W_rj| / 127, q = round-half-even(W / s_r) clamped to +-127 (a zero row: s = 0, q = 0); biases stay F32.
Rnn.Fast loads these as a bf16 / int8 model holding exactly these values (RnnModel.Precision).

In C#: `RnnModel model = ModelFile.Load("model.safetensors");`, and `rnnfast run` follows rnnfast.batch_first.
"""
import argparse
import json
import struct
import sys

__all__ = ["export", "export_state_dict", "write_safetensors", "rnnfast_metadata", "quantize_int8", "to_bfloat16_bits",
           "ACTIVATIONS", "PRECISIONS"]

ACTIVATIONS = ("identity", "tanh", "relu", "sigmoid", "softmax")

PRECISIONS = ("float32", "bf16", "int8")

INT8_MAX = 127

SCALE_SUFFIX = ".scale"

_RECURRENT_KINDS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


# ---------------------------------------------------------------------------------------------------------------
# The writer: plain Python, no torch, no numpy.
# ---------------------------------------------------------------------------------------------------------------

def _flatten(values):
    """Row-major flattening of nested lists (or a flat list); returns (shape, flat list)."""
    if not isinstance(values, (list, tuple)):
        return [], [values]
    if len(values) == 0:
        return [0], []
    if isinstance(values[0], (list, tuple)):
        parts = [_flatten(v) for v in values]
        inner = parts[0][0]
        if any(shape != inner for shape, _ in parts):
            raise ValueError("ragged nested list: every row must have the same shape")
        return [len(values)] + inner, [x for _, flat in parts for x in flat]
    return [len(values)], list(values)


def _numpy():
    """numpy if installed (optional: much faster for large tensors), else None. Both paths give the same bytes."""
    try:
        import numpy
        return numpy
    except ImportError:
        return None


def _f32_bytes(flat):
    np = _numpy()
    if np is not None:
        return np.asarray(flat, dtype="<f4").tobytes()
    return struct.pack("<%df" % len(flat), *flat)


def _f32(x):
    """x rounded to the nearest float32 (ties to even), as a Python float; +-inf beyond float32's range."""
    try:
        return struct.unpack("<f", struct.pack("<f", x))[0]
    except OverflowError:
        return float("inf") if x > 0 else float("-inf")


def to_bfloat16_bits(flat):
    """bfloat16 bits of float values: each rounded to float32, then to nearest-even of its upper 16 bits. A list of ints,
    or a little-endian uint16 numpy array when numpy is installed.

    Raises ValueError for a value that is not finite in bfloat16 (NaN, infinity, or beyond 3.3895e38).
    """
    np = _numpy()
    if np is not None:
        bits = np.asarray(flat, dtype="<f4").view("<u4").astype(np.uint64)
        rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint32)
        if bool(((rounded & 0x7F80) == 0x7F80).any()):
            raise ValueError("a value is NaN, infinite or too large for bfloat16")
        return rounded.astype("<u2")
    result = []
    for x in flat:
        b = struct.unpack("<I", struct.pack("<f", _f32(x)))[0]
        h = (b + 0x7FFF + ((b >> 16) & 1)) >> 16
        if (h & 0x7F80) == 0x7F80:
            raise ValueError("%r is NaN, infinite or too large for bfloat16" % x)
        result.append(h)
    return result


def quantize_int8(rows, columns, flat):
    """Rnn.Fast's int8 scheme for a row-major [rows, columns] matrix, in float32 arithmetic: returns (q, scales).

    scales[r] = max_j |W_rj| / 127 and q_rj = round-half-even(W_rj / scales[r]) clamped to +-127; a row of zeros has
    scale 0 and q = 0. Raises ValueError for a non-finite weight. (With numpy: s = np.abs(W).max(1) / np.float32(127),
    q = np.clip(np.rint(W / s[:, None]), -127, 127), all float32; without, the same in Python: a float32 division is a
    double division rounded to float32, exactly.)
    """
    if len(flat) != rows * columns:
        raise ValueError("%d values for a [%d, %d] matrix" % (len(flat), rows, columns))
    np = _numpy()
    if np is not None:
        w = np.asarray(flat, dtype=np.float32).reshape(rows, columns)
        if not bool(np.isfinite(w).all()):
            raise ValueError("only finite weights can be quantized to int8")
        s = (np.abs(w).max(axis=1) if columns else np.zeros(rows, np.float32)) / np.float32(INT8_MAX)
        s = s.astype(np.float32)
        with np.errstate(divide="ignore", invalid="ignore"):
            q = np.clip(np.rint(w / s[:, None]), -INT8_MAX, INT8_MAX)
        q = np.where(s[:, None] == 0, 0, q).astype(np.int8)
        return q.reshape(-1).tolist(), s.tolist()
    q, scales = [], []
    for r in range(rows):
        row = [_f32(x) for x in flat[r * columns:(r + 1) * columns]]
        if any(x != x or x in (float("inf"), float("-inf")) for x in row):
            raise ValueError("only finite weights can be quantized to int8")
        s = _f32(max((abs(x) for x in row), default=0.0) / INT8_MAX)
        scales.append(s)
        # round() is round-half-even; _f32(x / s) is the float32 quotient.
        q.extend(0 if s == 0 else max(-INT8_MAX, min(INT8_MAX, round(_f32(x / s)))) for x in row)
    return q, scales


def _tensor_bytes(name, flat, dtype):
    if dtype == "F32":
        return _f32_bytes([float(x) for x in flat])
    if dtype == "BF16":
        bits = to_bfloat16_bits([float(x) for x in flat])
        return bits.tobytes() if hasattr(bits, "tobytes") else struct.pack("<%dH" % len(bits), *bits)
    if dtype == "I8":
        values = [int(x) for x in flat]
        if any(v < -INT8_MAX or v > INT8_MAX for v in values):
            raise ValueError("%s: int8 values must be in [-127, 127] (the scheme is symmetric)" % name)
        return struct.pack("<%db" % len(values), *values)
    raise ValueError("%s: dtype %r is not F32, BF16 or I8" % (name, dtype))


def _shape_and_flat(name, values):
    """(shape, row-major flat list) of a nested list, a (shape, flat_list) pair, or an object with .tolist()."""
    if hasattr(values, "tolist"):
        values = values.tolist()
    if isinstance(values, tuple) and len(values) == 2 and isinstance(values[0], (list, tuple)) \
            and isinstance(values[1], (list, tuple)) and (len(values[1]) == 0 or not isinstance(values[1][0], (list, tuple))):
        shape, flat = list(values[0]), list(values[1])
        count = 1
        for d in shape:
            count *= d
        if count != len(flat):
            raise ValueError("%s: shape %r needs %d values, got %d" % (name, shape, count, len(flat)))
        return shape, flat
    return _flatten(values)


def write_safetensors(path, tensors, metadata=None, dtypes=None):
    """Writes safetensors: float32 unless `dtypes` says otherwise.

    tensors: {name: values}, where values is a nested list (its shape is the nesting), a (shape, flat_list) pair,
    or any object with `.tolist()` (a torch tensor or numpy array). Written in the given order.
    metadata: {str: str}, stored as `__metadata__`.
    dtypes: {name: "F32" | "BF16" | "I8"} for tensors not to be written as F32: BF16 rounds each value to nearest-even
    bfloat16; I8 takes integers in [-127, 127].
    """
    dtypes = dtypes or {}
    header = {}
    if metadata:
        bad = [k for k, v in metadata.items() if not isinstance(k, str) or not isinstance(v, str)]
        if bad:
            raise TypeError("metadata keys and values must be strings: %r" % bad)
        header["__metadata__"] = dict(metadata)
    blobs, offset = [], 0
    for name, values in tensors.items():
        shape, flat = _shape_and_flat(name, values)
        dtype = dtypes.get(name, "F32")
        blob = _tensor_bytes(name, flat, dtype)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    # Pad the header with spaces so the data starts 8-byte aligned (as the reference writer does).
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def rnnfast_metadata(layers, nonlinearity=None, head_activation="identity", skip=0, batch_first=False, precision="float32"):
    """The `__metadata__` Rnn.Fast reads. nonlinearity: None (LSTM/GRU), one name, or a name per layer."""
    if precision not in PRECISIONS:
        raise ValueError("precision %r is not one of %s" % (precision, ", ".join(PRECISIONS)))
    metadata = {"format": "pt"}
    if nonlinearity is not None:
        names = [nonlinearity] * layers if isinstance(nonlinearity, str) else list(nonlinearity)
        if len(names) != layers:
            raise ValueError("%d nonlinearities for %d layers" % (len(names), layers))
        for n in names:
            if n not in ("tanh", "relu", "sigmoid", "identity"):
                raise ValueError("nonlinearity %r is not tanh, relu, sigmoid or identity" % n)
        metadata["rnnfast.nonlinearity"] = ",".join(names)
    if head_activation not in ACTIVATIONS:
        raise ValueError("head_activation %r is not one of %s" % (head_activation, ", ".join(ACTIVATIONS)))
    metadata["rnnfast.head_activation"] = head_activation
    if int(skip) < 0:
        raise ValueError("skip must be >= 0")
    metadata["rnnfast.skip"] = str(int(skip))
    metadata["rnnfast.batch_first"] = "true" if batch_first else "false"
    if precision != "float32":
        metadata["rnnfast.weight_precision"] = precision
    return metadata


# ---------------------------------------------------------------------------------------------------------------
# From PyTorch.
# ---------------------------------------------------------------------------------------------------------------

def _find_modules(model):
    import torch.nn as nn
    recurrent = [(n, m) for n, m in model.named_modules() if isinstance(m, (nn.RNN, nn.LSTM, nn.GRU))]
    linear = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    if len(recurrent) != 1:
        raise ValueError("the model must hold exactly one nn.RNN, nn.LSTM or nn.GRU; found %d" % len(recurrent))
    if len(linear) > 1:
        raise ValueError("the model may hold at most one nn.Linear (the head); found %d: %s"
                         % (len(linear), ", ".join(n for n, _ in linear)))
    return recurrent[0], (linear[0] if linear else (None, None))


def export(model, path, head_activation="identity", skip=0, batch_first=None, precision="float32"):
    """Writes `model` (an nn.Module holding one nn.RNN/nn.LSTM/nn.GRU and at most one nn.Linear) to `path`.

    head_activation: what forward() applies after the head (Rnn.Fast cannot see forward(); default identity).
    skip: S > 0 if forward() adds the first S input channels to the output.
    batch_first: the layout recorded for `rnnfast run`; default: the recurrent module's own batch_first.
    precision: "float32", "bf16" or "int8": how the weight matrices are stored (see the module docstring).
    Returns the metadata written.
    """
    import torch.nn as nn
    (rnn_name, rnn), (head_name, head) = _find_modules(model)
    if isinstance(rnn, nn.LSTM) and getattr(rnn, "proj_size", 0):
        raise ValueError("nn.LSTM with proj_size > 0 is not supported by Rnn.Fast")
    if head is not None and head.in_features != rnn.hidden_size * (2 if rnn.bidirectional else 1):
        raise ValueError("the head %s takes %d features but the %s gives %d"
                         % (head_name, head.in_features, type(rnn).__name__, rnn.hidden_size * (2 if rnn.bidirectional else 1)))
    owned = {id(p) for p in rnn.parameters()} | ({id(p) for p in head.parameters()} if head is not None else set())
    others = [n for n, p in model.named_parameters() if id(p) not in owned]
    if others:
        raise ValueError("parameters outside the recurrent module and the head would be lost: %s" % ", ".join(others))

    def prefixed(name, module):
        prefix = name + "." if name else ""
        return {prefix + k: v for k, v in module.state_dict().items()}

    tensors = prefixed(rnn_name, rnn)
    if head is not None:
        tensors.update(prefixed(head_name, head))
    nonlinearity = rnn.nonlinearity if isinstance(rnn, nn.RNN) else None
    return export_state_dict(tensors, path, nonlinearity=nonlinearity, layers=rnn.num_layers,
                             head_activation=head_activation, skip=skip,
                             batch_first=rnn.batch_first if batch_first is None else batch_first, precision=precision)


def _is_weight_matrix(name, shape):
    """weight_ih_l{k}, weight_hh_l{k} (and _reverse) of the recurrent module, the head's weight: rank 2, named weight*."""
    return len(shape) == 2 and name.rsplit(".", 1)[-1].startswith("weight")


def export_state_dict(state_dict, path, nonlinearity=None, layers=None, head_activation="identity", skip=0, batch_first=False,
                      precision="float32"):
    """Writes the tensors of a state_dict (name -> tensor, or (shape, flat list)) with Rnn.Fast's metadata; returns the metadata.

    precision "float32" writes F32; "bf16" writes the weight matrices as BF16 and "int8" as I8 plus "<name>.scale"
    (biases and everything else F32), quantized here with the schemes above.
    """
    if precision not in PRECISIONS:
        raise ValueError("precision %r is not one of %s" % (precision, ", ".join(PRECISIONS)))
    tensors = {}
    for name, value in state_dict.items():
        if hasattr(value, "detach"):
            value = value.detach().to("cpu").float().contiguous()
            try:
                value = (list(value.shape), value.numpy().reshape(-1).tolist())
            except (RuntimeError, ImportError):  # torch without numpy
                value = (list(value.shape), value.reshape(-1).tolist())
        tensors[name] = value
    if layers is None:
        layers = len({n.rsplit("_l", 1)[1].split("_")[0] for n in tensors if "weight_hh_l" in n})
    if nonlinearity is not None and layers == 0:
        raise ValueError("no weight_hh_l{k} tensor found")
    metadata = rnnfast_metadata(layers, nonlinearity, head_activation, skip, batch_first, precision)
    dtypes = {}
    if precision != "float32":
        reduced = {}
        for name, value in tensors.items():
            shape, flat = _shape_and_flat(name, value)
            if not _is_weight_matrix(name, shape):
                reduced[name] = (shape, flat)
            elif precision == "bf16":
                reduced[name] = (shape, flat)
                dtypes[name] = "BF16"
            else:
                q, scales = quantize_int8(shape[0], shape[1], flat)
                reduced[name] = (shape, q)
                dtypes[name] = "I8"
                reduced[name + SCALE_SUFFIX] = ([shape[0]], scales)
        tensors = reduced
    write_safetensors(path, tensors, metadata, dtypes)
    return metadata


def _load(path, allow_pickle):
    import torch
    import torch.nn as nn
    try:
        obj = torch.load(path, map_location="cpu", weights_only=not allow_pickle)
    except Exception as e:  # noqa: BLE001 - torch raises several types for a pickled module under weights_only
        if not allow_pickle:
            raise SystemExit("%s: cannot load with weights_only=True (%s).\nIf it is a whole module saved with "
                             "torch.save(model) and you trust the file, add --allow-pickle." % (path, e))
        raise
    if isinstance(obj, nn.Module):
        return obj
    if isinstance(obj, dict):
        return {k: v for k, v in obj.items()}
    raise SystemExit("%s holds a %s, not an nn.Module or a state_dict" % (path, type(obj).__name__))


def main(argv=None):
    parser = argparse.ArgumentParser(description="Export a PyTorch RNN/LSTM/GRU (+ optional nn.Linear head) to Rnn.Fast safetensors.")
    parser.add_argument("input", help="torch.save file: a whole nn.Module (needs --allow-pickle) or a state_dict")
    parser.add_argument("output", help="the .safetensors file to write")
    parser.add_argument("--head-activation", default="identity", choices=ACTIVATIONS,
                        help="what forward() applies after the head (default identity)")
    parser.add_argument("--skip", type=int, default=0, help="the output adds the first S input channels (default 0)")
    parser.add_argument("--nonlinearity", default=None,
                        help="Elman f for a state_dict (tanh or relu; comma-separated per layer); a module says its own")
    layout = parser.add_mutually_exclusive_group()
    layout.add_argument("--batch-first", dest="batch_first", action="store_true", default=None,
                        help="record batch_first=true (default for a module: its own batch_first; for a state_dict: false)")
    layout.add_argument("--time-major", dest="batch_first", action="store_false", help="record batch_first=false")
    parser.add_argument("--precision", default="float32", choices=PRECISIONS,
                        help="how the weight matrices are stored: float32 (default), bf16, or int8 with per-row scales")
    parser.add_argument("--allow-pickle", action="store_true",
                        help="unpickle a whole module (runs code from the file: only for files you trust)")
    args = parser.parse_args(argv)

    obj = _load(args.input, args.allow_pickle)
    if isinstance(obj, dict):
        nonlinearity = args.nonlinearity.split(",") if args.nonlinearity and "," in args.nonlinearity else args.nonlinearity
        names = [n for n in obj if n.rsplit(".", 1)[-1].startswith("weight_hh_l")]
        if nonlinearity is None and any(obj[n].shape[0] == obj[n].shape[1] for n in names):
            parser.error("an nn.RNN state_dict does not say tanh or relu: pass --nonlinearity")
        layers = len({n.rsplit("_l", 1)[1].split("_")[0] for n in names})
        metadata = export_state_dict(obj, args.output, nonlinearity=nonlinearity, layers=layers,
                                     head_activation=args.head_activation, skip=args.skip, batch_first=bool(args.batch_first),
                                     precision=args.precision)
    else:
        if args.nonlinearity:
            parser.error("--nonlinearity is for a state_dict; the module says its own")
        metadata = export(obj, args.output, head_activation=args.head_activation, skip=args.skip, batch_first=args.batch_first,
                          precision=args.precision)
    print("wrote %s (%s)" % (args.output, ", ".join("%s=%s" % kv for kv in metadata.items() if kv[0] != "format")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
