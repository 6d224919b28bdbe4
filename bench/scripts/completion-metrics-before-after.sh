#!/usr/bin/env bash
# Seconds of `flatness solve --steps 0` on a MovieLens-sized completion problem (943 x 1682, n = 100,000, widths 32,
# depth 3): set-up plus the metrics of the starting point, whose norms of E dominated before the thin-QR chain norms.
# Two builds side by side. Usage: bench/scripts/completion-metrics-before-after.sh BEFORE_DIR AFTER_DIR
# (each DIR holds a published CLI: dotnet publish tools/Flatness.Cli -c Release -o DIR)
set -euo pipefail
before=$1 after=$2
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
echo
echo "| build | seconds (JSON) | wall seconds | nuclear norm of E |"
echo "|---|---|---|---|"
for build in before after; do
  dir=${!build}
  start=$(date +%s.%N)
  json=$(dotnet "$dir/flatness.dll" solve --generate completion --d0 943 --dL 1682 --rank 5 --n 100000 --width 32 --depth 3 \
    --method gd --steps 0 --backend cpu --json)
  end=$(date +%s.%N)
  python3 - "$json" "$build" "$start" "$end" <<'PY'
import json, sys
o = json.loads(sys.argv[1])
print(f"| {sys.argv[2]} | {o['seconds']:.2f} | {float(sys.argv[4]) - float(sys.argv[3]):.2f} | {o['nuclear_norm']:.10g} |")
PY
done
