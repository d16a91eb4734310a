#!/usr/bin/env bash
# Runs bench/Rnn.Fast.BeforeAfter against two commits of the library, back to back, on this machine.
#
#   bench/before-after.sh REV [REV...] [-- BenchmarkDotNet args...]     (one revision: it against HEAD)
#
# Each revision's src/ is checked out into a temporary worktree; the harness (from the working tree) is built
# against it. Reports go to BenchmarkDotNet.Artifacts/before-after-<rev>/. Run nothing else meanwhile.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
revs=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do revs+=("$1"); shift; done
[ $# -gt 0 ] && shift
[ ${#revs[@]} -eq 1 ] && revs+=(HEAD)
filter=("$@"); [ ${#filter[@]} -eq 0 ] && filter=(--filter '*')
for rev in "${revs[@]}"; do
    sha="$(git -C "$repo" rev-parse --short "$rev")"
    tree="$(mktemp -d)/rnnfast-$sha"
    git -C "$repo" worktree add --detach "$tree" "$sha" >/dev/null
    echo "== $rev ($sha), load $(cut -d' ' -f1-3 /proc/loadavg)"
    dotnet run -c Release --project "$repo/bench/Rnn.Fast.BeforeAfter" -p:RnnFastProject="$tree/src/Rnn.Fast/Rnn.Fast.csproj" \
        -- "${filter[@]}" --artifacts "$repo/BenchmarkDotNet.Artifacts/before-after-$sha"
    git -C "$repo" worktree remove --force "$tree"
done
