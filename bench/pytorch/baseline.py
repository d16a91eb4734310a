#!/usr/bin/env python3
"""PyTorch baseline for Rnn.Fast's throughput table (issue 11) and precision table (issue 15): the same shapes on one thread.

Training steps of nn.LSTM / nn.GRU / nn.RNN (tanh) with Adam, MSE on every step, T = 100, I = H, inputs [T, B, I];
and batched LSTM forwards under no_grad. Prints markdown tables with the median and minimum of short repetitions,
and which BLAS PyTorch loaded: on Debian, python3-torch links libblas.so.3, which update-alternatives may point at
netlib's reference BLAS (about 12x slower here, not a fair baseline). Install and select OpenBLAS with
    apt-get install -y python3-torch libopenblas0-serial

Reduced precision (issue 15, `--precision` runs only this part): PyTorch's dynamic quantized LSTM and GRU
(torch.ao.quantization.quantize_dynamic(model, {nn.LSTM, nn.GRU}, dtype=torch.qint8): int8 weights, activations
quantized per call) beside float32, at the shapes of bench/Rnn.Fast.Benchmarks/PrecisionBenchmarks.cs: one layer,
I = H, no head, batch 1, H in {16, 64, 128, 256, 512}; (a) streaming, one call per step with the state fed back
(64 steps per timed call), and (b) one call over T = 100 steps. Two int8 variants: PyTorch's default qconfig
(one weight scale per tensor) and per_channel_dynamic_qconfig (one scale per output row, Rnn.Fast's int8 scheme).
`--qengine` picks the quantized engine (fbgemm on x86 pip wheels; Debian's build has onednn and qnnpack).

Not run in CI. Usage: /usr/bin/python3 bench/pytorch/baseline.py [--quick] [--precision] [--hidden H ...]
    [--qengine NAME] [--out FILE] [--json FILE]
"""
import argparse
import json
import os
import statistics
import sys
import time

# qnnpack warns through c10/glog on every dynamic linear call ("incorrectly ignores reduce_range"): keep stderr readable.
os.environ.setdefault("TORCH_CPP_LOG_LEVEL", "ERROR")
os.environ.setdefault("GLOG_minloglevel", "2")

import torch  # noqa: E402  (after the logging environment)

T = 100


def loaded_blas():
    """The BLAS and LAPACK libraries mapped into this process (from /proc/self/maps)."""
    names = set()
    try:
        with open("/proc/self/maps", encoding="utf-8") as maps:
            for line in maps:
                path = line.split()[-1] if len(line.split()) >= 6 else ""
                base = os.path.basename(path)
                if "blas" in base or "lapack" in base or "mkl" in base:
                    names.add(os.path.realpath(path))
    except OSError:
        pass
    return sorted(names)


def timed(action, budget):
    """Median and minimum seconds per call (thread CPU time), after a warm-up."""
    clock = time.thread_time if hasattr(time, "thread_time") else time.perf_counter
    for _ in range(3):
        action()
    start = clock()
    action()
    once = max(clock() - start, 1e-6)
    reps = int(min(max(budget / once, 5), 500))
    times = []
    for _ in range(reps):
        start = clock()
        action()
        times.append(clock() - start)
    return statistics.median(times), min(times)


def make(cell, h):
    if cell == "LSTM":
        return torch.nn.LSTM(h, h)
    if cell == "GRU":
        return torch.nn.GRU(h, h)
    return torch.nn.RNN(h, h, nonlinearity="tanh")


def training_row(cell, h, batch, budget):
    torch.manual_seed(0)
    model = make(cell, h)
    x = torch.rand(T, batch, h) * 2 - 1
    target = (torch.rand(T, batch, h) * 2 - 1) / 2
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-5)
    loss_fn = torch.nn.MSELoss()

    def step():
        optimizer.zero_grad(set_to_none=False)
        y, _ = model(x)
        loss = loss_fn(y, target)
        loss.backward()
        optimizer.step()

    def forward():
        with torch.no_grad():
            model(x)

    fwd, fwd_min = timed(forward, budget)
    train, train_min = timed(step, budget)
    return fwd, fwd_min, train, train_min


def batched_row(h, batch, budget):
    torch.manual_seed(0)
    model = torch.nn.LSTM(h, h)
    x = torch.rand(T, batch, h) * 2 - 1

    def forward():
        with torch.no_grad():
            model(x)

    return timed(forward, budget)


STREAM_STEPS = 64    # steps per timed call of the streaming rows, as PrecisionStepBenchmarks.Steps
PRECISION_SIZES = (16, 64, 128, 256, 512)


class OneLayer(torch.nn.Module):
    """One nn.LSTM/nn.GRU as a child: quantize_dynamic swaps children, never the module it is given."""

    def __init__(self, rnn):
        super().__init__()
        self.rnn = rnn

    def forward(self, x, state=None):
        return self.rnn(x, state)


def precision_models(cell, h):
    """float32, int8 (PyTorch's default dynamic qconfig: per-tensor weight scale) and int8 with per-row scales."""
    from torch.ao.quantization import per_channel_dynamic_qconfig
    torch.manual_seed(15)
    kind = torch.nn.LSTM if cell == "LSTM" else torch.nn.GRU
    fp32 = OneLayer(kind(h, h)).eval()
    per_tensor = torch.ao.quantization.quantize_dynamic(fp32, {kind}, dtype=torch.qint8)
    per_row = torch.ao.quantization.quantize_dynamic(fp32, {kind: per_channel_dynamic_qconfig}, dtype=torch.qint8)
    for model in (per_tensor, per_row):
        if not type(model.rnn).__module__.startswith("torch.ao.nn.quantized.dynamic"):
            raise RuntimeError(f"quantize_dynamic left {type(model.rnn)} unquantized")
    return {"fp32": fp32, "int8": per_tensor, "int8-per-row": per_row}


def precision_rows(cell, h, budget):
    """ns per step (median, min) of each model, streaming and over T steps, and each int8 model's max |y - y_fp32|."""
    torch.manual_seed(2)
    x = torch.rand(T, 1, h) * 2 - 1
    models = precision_models(cell, h)
    rows = {}
    with torch.no_grad():
        reference, _ = models["fp32"](x)
        for name, model in models.items():
            def stream(model=model):
                state = None
                for t in range(STREAM_STEPS):
                    _, state = model(x[t:t + 1], state)

            def sequence(model=model):
                model(x)

            step_median, step_min = timed(stream, budget)
            run_median, run_min = timed(sequence, budget)
            y, _ = model(x)
            rows[name] = {
                "Step": (step_median * 1e9 / STREAM_STEPS, step_min * 1e9 / STREAM_STEPS),
                "Run": (run_median * 1e9 / T, run_min * 1e9 / T),
                "max_abs_diff": float((y - reference).abs().max()),
            }
    return rows


def precision_section(emit, sizes, budget, records):
    emit(f"Reduced precision (issue 15): one layer, I = H, no head, batch 1; dynamic int8 on quantized engine "
         f"'{torch.backends.quantized.engine}' (supported: {', '.join(torch.backends.quantized.supported_engines)})")
    emit()
    emit("ns per step (median; min in brackets); Step = one call per step (state fed back), Run = one call of T = 100 steps;")
    emit("× = fp32 median / int8 median; max |Δ| = largest |y_int8 - y_fp32| over the T = 100 outputs")
    emit()
    emit("| cell | H | mode | fp32 | int8 (per-tensor) | int8 (per-row) | × int8 | × int8 per-row | max abs diff (per-tensor / per-row) |")
    emit("|---|---:|---|---:|---:|---:|---:|---:|---|")
    for cell in ("LSTM", "GRU"):
        for h in sizes:
            rows = precision_rows(cell, h, budget)
            for mode in ("Step", "Run"):
                fp32, q, qr = rows["fp32"][mode], rows["int8"][mode], rows["int8-per-row"][mode]
                emit(f"| {cell} | {h} | {mode} | {fp32[0]:.0f} ({fp32[1]:.0f}) | {q[0]:.0f} ({q[1]:.0f}) | {qr[0]:.0f} ({qr[1]:.0f}) "
                     f"| {fp32[0] / q[0]:.2f} | {fp32[0] / qr[0]:.2f} "
                     f"| {rows['int8']['max_abs_diff']:.2e} / {rows['int8-per-row']['max_abs_diff']:.2e} |")
                for name, values in rows.items():
                    records.append({"cell": cell, "hidden": h, "mode": mode, "precision": name,
                                    "engine": torch.backends.quantized.engine if name != "fp32" else None,
                                    "median_ns": values[mode][0], "min_ns": values[mode][1],
                                    "max_abs_diff": values["max_abs_diff"]})
    emit()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short repetitions (a shared machine, to guide work)")
    parser.add_argument("--out", help="also write the markdown to this file")
    parser.add_argument("--precision", action="store_true", help="only the reduced-precision table (issue 15)")
    parser.add_argument("--hidden", type=int, nargs="+", default=list(PRECISION_SIZES), help="H of the precision table")
    parser.add_argument("--qengine", help="quantized engine (torch.backends.quantized.supported_engines); default: torch's")
    parser.add_argument("--json", help="also write the precision rows as JSON (for bench/precision_table.py)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    if args.qengine:
        torch.backends.quantized.engine = args.qengine
    budget = 0.3 if args.quick else 2.0

    lines = []

    def emit(text=""):
        print(text, flush=True)
        lines.append(text)

    emit(f"# PyTorch {torch.__version__} baseline, one thread, T = {T}, I = H")
    emit()
    emit(f"- BLAS libraries loaded: {', '.join(loaded_blas()) or 'none found'}")
    config = torch.__config__.show()
    settings = [item.strip() for item in config.replace("\n", ",").split(",")]
    blas_settings = [item for item in settings if item.startswith(("BLAS_INFO", "LAPACK_INFO", "PERF_WITH_AVX512", "USE_MKLDNN"))]
    emit(f"- torch.__config__ build settings: {', '.join(blas_settings) or 'none'} (generic: whatever libblas.so.3 is)")
    emit(f"- threads: {torch.get_num_threads()}; load average {open('/proc/loadavg', encoding='utf-8').read().strip()}")
    emit(f"- quantized engine: {torch.backends.quantized.engine} (supported: {', '.join(torch.backends.quantized.supported_engines)})")
    emit()
    records = []
    precision_section(emit, args.hidden, budget, records)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump({"torch": torch.__version__, "engine": torch.backends.quantized.engine, "threads": torch.get_num_threads(),
                       "loadavg": open("/proc/loadavg", encoding="utf-8").read().strip(), "rows": records}, out, indent=1)
    if args.precision:
        if args.out:
            with open(args.out, "w", encoding="utf-8") as out:
                out.write("\n".join(lines) + "\n")
        return 0
    emit("Batched LSTM forward (no_grad), ns per step per stream (median; min in brackets)")
    emit()
    emit("| H | B | PyTorch |")
    emit("|---:|---:|---:|")
    for h in (32, 128, 512):
        for batch in (16, 64):
            median, minimum = batched_row(h, batch, budget)
            per = 1e9 / (T * batch)
            emit(f"| {h} | {batch} | {median * per:.0f} ({minimum * per:.0f}) |")
    emit()
    emit("Training step (forward + backward + Adam, MSE on every step), ms (median; min in brackets)")
    emit()
    emit("| cell | H | B | forward (no_grad) | training step | train / forward |")
    emit("|---|---:|---:|---:|---:|---:|")
    shapes = [("LSTM", h, b) for h in (32, 128, 256) for b in (1, 16, 64)] + [("GRU", 128, 16), ("RNN", 128, 16)]
    for cell, h, batch in shapes:
        fwd, fwd_min, train, train_min = training_row(cell, h, batch, budget)
        emit(f"| {cell} | {h} | {batch} | {fwd * 1e3:.2f} ({fwd_min * 1e3:.2f}) | {train * 1e3:.2f} ({train_min * 1e3:.2f}) | {train / fwd:.2f} |")
    if args.out:
        with open(args.out, "w", encoding="utf-8") as out:
            out.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
