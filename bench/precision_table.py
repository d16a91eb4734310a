#!/usr/bin/env python3
"""Writes perf-results/<cpu>/precision.md (issue 15) from one BenchmarkDotNet run of the precision suites and the
PyTorch baseline's JSON rows. Standard library only (any python3).

    bench/run.sh --precision                                   # BenchmarkDotNet: reports to perf-results/<cpu>/
    /usr/bin/python3 bench/pytorch/baseline.py --precision --json perf-results/<cpu>/precision-pytorch-onednn.json
    /usr/bin/python3 bench/pytorch/baseline.py --precision --qengine qnnpack --json perf-results/<cpu>/precision-pytorch-qnnpack.json
    python3 bench/precision_table.py perf-results/<cpu> [--stat Median] [--pytorch FILE ...] [--out FILE]

Reads <dir>/PrecisionStepBenchmarks-report.csv, PrecisionSequenceBenchmarks-report.csv, their -report-github.md (for
BenchmarkDotNet's environment header: CPU, runtime, JIT ISA) and -roofline.md (the FMA peak and bandwidths of the
floor column), and every <dir>/precision-pytorch-*.json unless --pytorch names files. Speed-ups and x-floor are
recomputed from --stat (Median by default: the statistic the repository's quiet tables quote); the floors themselves
come from the report's "Floor ns" column.
"""
import argparse
import csv
import glob
import json
import os
import re
import sys

UNITS = {"ns": 1.0, "us": 1e3, "μs": 1e3, "µs": 1e3, "ms": 1e6, "s": 1e9}
PRECISIONS = ("Float32", "BFloat16", "Int8")
SHORT = {"Float32": "fp32", "BFloat16": "bf16", "Int8": "int8"}
# Issue 15's targets, as speed-ups over float32 at H in {256, 512}: (bf16, int8).
TARGETS = {"Step": (1.8, 3.0), "Run": (1.5, 2.5)}
TARGET_SIZES = (256, 512)
TIE = 0.97  # below this a reduced row counts as slower than float32; the machine's run-to-run noise is +-10 %


def nanoseconds(text):
    """'1,834.2 ns' -> 1834.2; NA or empty -> None."""
    match = re.match(r"^\s*([-0-9.,]+)\s*(\S+)?\s*$", text or "")
    if not match:
        return None
    return float(match.group(1).replace(",", "")) * UNITS.get(match.group(2) or "ns", 1.0)


def number(text):
    try:
        return float((text or "").replace(",", ""))
    except ValueError:
        return None


def allocated_bytes(text):
    """'-', '0 B', '24 B', '1.2 KB' -> bytes."""
    text = (text or "").strip()
    if text in ("", "-", "NA"):
        return 0.0
    value, _, unit = text.partition(" ")
    return float(value.replace(",", "")) * {"B": 1, "KB": 1024, "MB": 1 << 20}.get(unit, 1)


def read_report(directory, suite, stat):
    """{(cell, H): {precision: row}} from a suite's CSV, or None if the run did not produce it."""
    path = os.path.join(directory, f"{suite}-report.csv")
    if not os.path.exists(path):
        return None
    table = {}
    with open(path, encoding="utf-8-sig") as handle:
        for row in csv.DictReader(handle):
            key = (row["Cell"].upper(), int(row["H"]))
            table.setdefault(key, {})[row["Method"]] = {
                "time": nanoseconds(row[stat]),
                "floor": number(row.get("Floor ns")),
                "weights": row.get("Weights", ""),
                "allocated": allocated_bytes(row.get("Allocated")),
            }
    return table


def environment(directory, suite):
    """BenchmarkDotNet's header (between the first pair of ``` in the GitHub report) and the job line."""
    path = os.path.join(directory, f"{suite}-report-github.md")
    if not os.path.exists(path):
        return []
    lines = open(path, encoding="utf-8").read().splitlines()
    fences = [i for i, line in enumerate(lines) if line.strip() == "```"]
    return [line for line in lines[fences[0] + 1:fences[1]] if line.strip()] if len(fences) >= 2 else []


def roofline_constants(directory, suite):
    path = os.path.join(directory, f"{suite}-roofline.md")
    if not os.path.exists(path):
        return None
    for line in open(path, encoding="utf-8"):
        if line.startswith("FMA peak"):
            return line.strip().rstrip(".")
    return None


def read_pytorch(files):
    """{(cell, H, mode): {engine: {precision: median_ns}}} and a description per file."""
    table, described = {}, []
    for path in files:
        data = json.load(open(path, encoding="utf-8"))
        engine = data["engine"]
        described.append(f"`{os.path.basename(path)}`: PyTorch {data['torch']}, {data['threads']} thread, quantized engine "
                         f"**{engine}**, load average {data['loadavg']}")
        for row in data["rows"]:
            cell = {"LSTM": "LSTM", "GRU": "GRU"}[row["cell"]]
            table.setdefault((cell, row["hidden"], row["mode"]), {}).setdefault(engine, {})[row["precision"]] = row
    return table, described


def fmt(value, digits=0):
    if value is None:
        return "–"
    if digits == 0 and value >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def verdict(mode, h, bf16, int8):
    if h in TARGET_SIZES:
        targets = TARGETS[mode]
        marks = [f"{name} {'met' if x is not None and x >= t else '**missed**'} (≥ {t}×)"
                 for name, x, t in (("bf16", bf16, targets[0]), ("int8", int8, targets[1]))]
        return "; ".join(marks)
    slower = [name for name, x in (("bf16", bf16), ("int8", int8)) if x is not None and x < TIE]
    return f"**{', '.join(slower)} slower than fp32**" if slower else "not slower"


def section(emit, title, mode, report, stat):
    emit(f"## {title}")
    emit()
    emit(f"ns per step ({stat.lower()}); × = fp32 time / reduced time. Targets (issue 15) at H ∈ {{256, 512}}: "
         f"bf16 ≥ {TARGETS[mode][0]}×, int8 ≥ {TARGETS[mode][1]}×; below that, never slower than fp32 "
         f"(a speed-up under {TIE} counts as slower).")
    emit()
    emit("| cell | H | fp32 | bf16 | int8 | bf16 × | int8 × | verdict | allocated/op (max) |")
    emit("|---|---:|---:|---:|---:|---:|---:|---|---:|")
    for (cell, h), rows in sorted(report.items(), key=lambda item: (item[0][0] != "LSTM", item[0][1])):
        times = {p: rows.get(p, {}).get("time") for p in PRECISIONS}
        fp32 = times["Float32"]
        speed = {p: (fp32 / times[p]) if fp32 and times[p] else None for p in ("BFloat16", "Int8")}
        allocated = max(r["allocated"] for r in rows.values())
        emit(f"| {cell} | {h} | {fmt(fp32)} | {fmt(times['BFloat16'])} | {fmt(times['Int8'])} | "
             f"{fmt(speed['BFloat16'], 2)} | {fmt(speed['Int8'], 2)} | {verdict(mode, h, speed['BFloat16'], speed['Int8'])} | "
             f"{allocated:.0f} B |")
    emit()
    emit("Roofline: weights (bytes of W_ih + W_hh in the precision, and the cache level the floor assumes), floor ns per step, "
         f"and {stat.lower()} / floor.")
    emit()
    emit("The last column is the speed-up a reduced row would show if it ran at its floor (measured fp32 / reduced floor): "
         "where it is below the target, the target needs more than this roofline allows (for int8 the flops are counted "
         "at the float32 FMA peak, although a 16-bit multiply-add does two per 32-bit lane).")
    emit()
    emit("| cell | H | weights fp32 / bf16 / int8 | floor ns fp32 / bf16 / int8 | × floor fp32 / bf16 / int8 | × fp32 at floor bf16 / int8 |")
    emit("|---|---:|---|---|---|---|")
    for (cell, h), rows in sorted(report.items(), key=lambda item: (item[0][0] != "LSTM", item[0][1])):
        weights = " / ".join(rows.get(p, {}).get("weights", "–") for p in PRECISIONS)
        floors = " / ".join(fmt(rows.get(p, {}).get("floor"), 1 if (rows.get(p, {}).get("floor") or 0) < 100 else 0) for p in PRECISIONS)
        ratios = " / ".join(fmt(rows[p]["time"] / rows[p]["floor"], 2) if p in rows and rows[p]["time"] and rows[p]["floor"] else "–"
                            for p in PRECISIONS)
        fp32 = rows.get("Float32", {}).get("time")
        best = " / ".join(fmt(fp32 / rows[p]["floor"], 2) if fp32 and p in rows and rows[p]["floor"] else "–" for p in ("BFloat16", "Int8"))
        emit(f"| {cell} | {h} | {weights} | {floors} | {ratios} | {best} |")
    emit()


def pytorch_section(emit, pytorch, steps, sequences, stat):
    engines = sorted({engine for per_engine in pytorch.values() for engine in per_engine})
    emit("## Against PyTorch's dynamic quantized LSTM/GRU")
    emit()
    emit("ns per step (PyTorch: median of its own repetitions, thread CPU time; Rnn.Fast: the BenchmarkDotNet "
         f"{stat.lower()} above). PyTorch int8 = `quantize_dynamic(..., dtype=torch.qint8)` with its default qconfig "
         "(per-tensor weight scale) / with per_channel_dynamic_qconfig (per-row, Rnn.Fast's scheme); × = PyTorch time / "
         "Rnn.Fast time of the same precision.")
    emit()
    header = "| cell | H | mode | Rnn.Fast fp32 | PyTorch fp32 | × fp32 | Rnn.Fast int8 |"
    rule = "|---|---:|---|---:|---:|---:|---:|"
    for engine in engines:
        header += f" PyTorch int8 {engine} (per-tensor / per-row) | × int8 ({engine}) |"
        rule += "---:|---:|"
    emit(header)
    emit(rule)
    for (cell, h, mode), per_engine in sorted(pytorch.items(), key=lambda item: (item[0][0] != "LSTM", item[0][1], item[0][2] != "Step")):
        ours = (steps if mode == "Step" else sequences) or {}
        rows = ours.get((cell, h), {})
        mine_fp32 = rows.get("Float32", {}).get("time")
        mine_int8 = rows.get("Int8", {}).get("time")
        first = per_engine[engines[0]] if engines[0] in per_engine else next(iter(per_engine.values()))
        torch_fp32 = first.get("fp32", {}).get("median_ns")
        line = (f"| {cell} | {h} | {mode} | {fmt(mine_fp32)} | {fmt(torch_fp32)} | "
                f"{fmt(torch_fp32 / mine_fp32, 2) if torch_fp32 and mine_fp32 else '–'} | {fmt(mine_int8)} |")
        for engine in engines:
            rows_engine = per_engine.get(engine, {})
            tensor = rows_engine.get("int8", {}).get("median_ns")
            row = rows_engine.get("int8-per-row", {}).get("median_ns")
            best = min(x for x in (tensor, row) if x is not None) if (tensor or row) else None
            line += f" {fmt(tensor)} / {fmt(row)} | {fmt(best / mine_int8, 2) if best and mine_int8 else '–'} |"
        emit(line)
    emit()
    emit("× int8 uses the faster of PyTorch's two int8 variants.")
    emit()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", help="perf-results/<cpu>, holding the reports bench/run.sh copied")
    parser.add_argument("--stat", default="Median", choices=("Median", "Mean", "Min"), help="BenchmarkDotNet statistic to quote")
    parser.add_argument("--pytorch", nargs="*", help="PyTorch JSON files (default: <directory>/precision-pytorch-*.json)")
    parser.add_argument("--out", help="output file (default: <directory>/precision.md)")
    args = parser.parse_args()

    steps = read_report(args.directory, "PrecisionStepBenchmarks", args.stat)
    sequences = read_report(args.directory, "PrecisionSequenceBenchmarks", args.stat)
    if steps is None and sequences is None:
        print(f"No Precision*Benchmarks-report.csv in {args.directory}: run bench/run.sh --precision first.", file=sys.stderr)
        return 2
    files = args.pytorch if args.pytorch is not None else sorted(glob.glob(os.path.join(args.directory, "precision-pytorch-*.json")))
    pytorch, described = read_pytorch(files)

    lines = []

    def emit(text=""):
        lines.append(text)

    suite = "PrecisionStepBenchmarks" if steps is not None else "PrecisionSequenceBenchmarks"
    emit("# Reduced-precision weights (issue 15): bf16 and int8 against fp32, one core")
    emit()
    emit("Generated by `bench/precision_table.py` from the BenchmarkDotNet reports in this folder "
         "(`Precision*Benchmarks-report*`, `*-roofline.md`; `bench/Rnn.Fast.Benchmarks/PrecisionBenchmarks.cs`) and the PyTorch "
         "baseline's JSON (`bench/pytorch/baseline.py --precision --json`). One layer, I = H, no head, batch 1, seeded "
         "PyTorch initialisation, Rnn.Fast's default kernel; every row checked against the double-precision reference of its "
         "own (dequantized) weights before timing. All Rnn.Fast rows come from one BenchmarkDotNet run.")
    emit()
    emit("```")
    lines.extend(environment(args.directory, suite))
    emit("```")
    emit()
    constants = roofline_constants(args.directory, suite)
    if constants:
        emit(f"Roofline floor = max(flops / FMA peak, weight bytes / bandwidth of the cache level that holds them): {constants}. "
             "A streaming step reads W_ih and W_hh from the level that holds both; a Run reads W_hh every step and W_ih once "
             "per chunk of ≥ 64 steps, from the level that holds W_hh. int8's flops are counted at the float32 FMA peak.")
        emit()
    if steps is not None:
        section(emit, "(a) Streaming `Step`, batch 1", "Step", steps, args.stat)
    if sequences is not None:
        section(emit, "(b) Batch-1 sequence, `Run` of T = 100 steps (per step)", "Run", sequences, args.stat)
    if pytorch:
        pytorch_section(emit, pytorch, steps, sequences, args.stat)
        for text in described:
            emit(f"- {text}")
        emit()
    out = args.out or os.path.join(args.directory, "precision.md")
    with open(out, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    print(f"Wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
