#!/usr/bin/env bash
# Our GEMM against OpenBLAS at its best kernel for this processor: `gemm-table` once per OPENBLAS_CORETYPE (unset,
# i.e. OpenBLAS's own detection, then SkylakeX, Haswell, Zen; each in its own process, since OpenBLAS reads the
# variable when it loads), at 1 and 2 threads, then one table per thread count with, per size, OpenBLAS's fastest
# core type, our median over the runs, and their ratio. Needs Debian's libopenblas0-pthread (installed when missing).
# Usage: bench/scripts/gemm-best-coretype.sh [SIZES]   (from the repository root)
set -euo pipefail
sizes=${1:-32,64,96,128,160,192,224,256,1024,2048}
if ! ldconfig -p | grep -q libopenblas.so.0; then
  apt-get update -qq && apt-get install -y -qq libopenblas0-pthread >/dev/null
fi
dotnet build -c Release bench/Kernels.Bench >/dev/null
bench="dotnet bench/Kernels.Bench/bin/Release/net10.0/Kernels.Bench.dll"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
for threads in 1 2; do
  for core in default SkylakeX Haswell Zen; do
    if [[ $core == default ]]; then unset OPENBLAS_CORETYPE; else export OPENBLAS_CORETYPE=$core; fi
    $bench gemm-table --sizes "$sizes" --threads "$threads" --repeats 7 --sample-ms 20 > "$dir/$threads-$core.txt"
  done
done
unset OPENBLAS_CORETYPE
head -1 "$dir/1-default.txt" | sed 's/^date: //;s/^/date: /'
sed -n 2p "$dir/1-default.txt"
grep '^ours:' "$dir/1-default.txt"
for core in default SkylakeX Haswell Zen; do echo "OpenBLAS with OPENBLAS_CORETYPE=$core: $(grep '^OpenBLAS' "$dir/1-$core.txt")"; done
/usr/bin/python3 - "$dir" <<'PY'
import glob, os, statistics, sys
directory = sys.argv[1]
for threads in (1, 2):
    rows = {}
    for path in sorted(glob.glob(f"{directory}/{threads}-*.txt")):
        core = os.path.basename(path)[len(f"{threads}-"):-4]
        for line in open(path):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) != 6 or not cells[0][0].isdigit():
                continue
            key = (cells[0], cells[1])
            rows.setdefault(key, []).append((core, float(cells[2]), float(cells[3])))
    print()
    print(f"### {threads} thread{'s' if threads > 1 else ''}")
    print()
    print("| size | precision | ours GFLOP/s (median of the runs) | OpenBLAS best GFLOP/s | best core type | ratio | OpenBLAS default GFLOP/s |")
    print("|---|---|---:|---:|---|---:|---:|")
    for (size, precision), runs in rows.items():
        ours = statistics.median(r[1] for r in runs)
        core, _, best = max(runs, key=lambda r: r[2])
        default = next(r[2] for r in runs if r[0] == "default")
        print(f"| {size} | {precision} | {ours:.1f} | {best:.1f} | {core} | {ours / best:.2f} | {default:.1f} |")
PY
