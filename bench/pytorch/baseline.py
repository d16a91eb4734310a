#!/usr/bin/env python3
"""PyTorch baseline for Rnn.Fast's throughput table (issue 11): the same shapes on one thread.

Training steps of nn.LSTM / nn.GRU / nn.RNN (tanh) with Adam, MSE on every step, T = 100, I = H, inputs [T, B, I];
and batched LSTM forwards under no_grad. Prints markdown tables with the median and minimum of short repetitions,
and which BLAS PyTorch loaded: on Debian, python3-torch links libblas.so.3, which update-alternatives may point at
netlib's reference BLAS (about 12x slower here, not a fair baseline). Install and select OpenBLAS with
    apt-get install -y python3-torch libopenblas0-serial
Not run in CI. Usage: /usr/bin/python3 bench/pytorch/baseline.py [--quick] [--out FILE]
"""
import argparse
import os
import statistics
import sys
import time

import torch

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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short repetitions (a shared machine, to guide work)")
    parser.add_argument("--out", help="also write the markdown to this file")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
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
    emit()
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
