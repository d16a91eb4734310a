#!/usr/bin/env bash
# Runs the benchmark suite in Release and copies its reports into perf-results/<cpu>/.
#
#   bench/run.sh                                  # every benchmark, BenchmarkDotNet's default job
#   bench/run.sh --quick                          # short job (3 warm-up + 5 x 250 ms iterations)
#   bench/run.sh --filter '*Streaming*' --quick   # a subset; any BenchmarkDotNet argument passes through
#   bench/run.sh --job short                      # BenchmarkDotNet's own short job
#   bench/run.sh --precision                      # issue 15's precision suites (= --filter '*Precision*')
#   bench/run.sh --precision --job dry            # one cold iteration per case: checks that every case runs
#
# <cpu> is the model name from /proc/cpuinfo, sanitized for a path. Each report keeps BenchmarkDotNet's
# environment header (CPU, runtime, JIT ISA); environment.txt (one section appended per run) adds
# what it does not show (OS kernel, L1/L2/L3, flags, load average, RNNFAST_KERNEL). Run one suite
# at a time: parallel runs disturb each other.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

cpu_model="$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
cpu_family="$(grep -m1 '^cpu family' /proc/cpuinfo | cut -d: -f2 | tr -d ' ')"
cpu_number="$(grep -m1 '^model[[:space:]]*:' /proc/cpuinfo | cut -d: -f2 | tr -d ' ')"
# Virtual machines often report a bare "AMD EPYC": family and model tell Zen 3 (25/1) from Zen 4 (25/17).
cpu_dir="$(printf '%s-f%sm%s' "${cpu_model:-unknown-cpu}" "${cpu_family:-x}" "${cpu_number:-x}" | sed -e 's/([^)]*)//g' -e 's/[^A-Za-z0-9._-]\+/-/g' -e 's/^-*//' -e 's/-*$//')"
out="perf-results/${cpu_dir}"
artifacts="BenchmarkDotNet.Artifacts/run-$(date -u +%Y%m%dT%H%M%SZ)"

args=()
for arg in "$@"; do
    # --precision selects the reduced-precision suites (PrecisionStepBenchmarks, PrecisionSequenceBenchmarks).
    if [[ "$arg" == "--precision" ]]; then args+=(--filter '*Precision*'); else args+=("$arg"); fi
done
if [[ " ${args[*]-} " != *" --filter "* && " ${args[*]-} " != *" -f "* ]]; then
    args+=(--filter '*')
fi

load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
dotnet run -c Release --project bench/Rnn.Fast.Benchmarks -- "${args[@]}" --artifacts "$artifacts"
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

mkdir -p "$out"
shopt -s nullglob
copied=0
# *-roofline.md: the FMA peak and bandwidths behind a precision report's floor columns (PrecisionRooflineExporter).
for report in "$artifacts"/results/*-report-github.md "$artifacts"/results/*-report.csv "$artifacts"/results/*-roofline.md; do
    name="$(basename "$report")"
    cp "$report" "$out/${name#Rnn.Fast.Benchmarks.}"
    copied=$((copied + 1))
done

# Appended, one section per run: a subset run (--filter) updates only its own reports, so the
# environment of every run that produced a report in the folder stays on record.
{
    echo
    echo "## bench/run.sh run"
    echo "date (UTC): $(date -u '+%Y-%m-%d %H:%M:%S')"
    echo "arguments: ${args[*]}"
    echo "git commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo "cpu: ${cpu_model}"
    grep -m1 '^cpu family' /proc/cpuinfo || true
    grep -m1 '^model[[:space:]]*:' /proc/cpuinfo || true
    grep -m1 '^bogomips' /proc/cpuinfo || true
    if command -v lscpu >/dev/null; then
        lscpu | grep -E '^(CPU\(s\)|Thread|Core|Hypervisor vendor|L1d|L2|L3)' || true
    fi
    echo "isa flags: $(grep -m1 '^flags' /proc/cpuinfo | grep -o -w -E 'avx|avx2|fma|avx512f|avx512vl|avx512bw' | tr '\n' ' ')"
    echo "os kernel: $(uname -sr)"
    echo "load average (1/5/15 min) before: ${load_before}, after: ${load_after} (on $(nproc) cores)"
    echo "dotnet sdk: $(dotnet --version)"
    echo "RNNFAST_KERNEL: ${RNNFAST_KERNEL:-<unset>}"
    echo "other RNNFAST_ variables: $(env | grep -E '^RNNFAST_' | grep -v '^RNNFAST_KERNEL=' | tr '\n' ' ')"
    echo "DOTNET_ variables: $(env | grep -E '^DOTNET_Enable' | tr '\n' ' ')"
} >> "$out/environment.txt"

echo "Copied ${copied} report(s) from ${artifacts}/results to ${out}/"
