#!/usr/bin/env bash
# How one evaluation (loss, trace, both gradients) scales: against D on the Gram path (d_0 = d_L = every width = D,
# depth 3, n = 2000; one pass over K, D^2 (D^2 + ...) / 2 values: expect D^4 once K outgrows the caches) and
# against n on the direct path (D = 20, depth 3: expect n). Prints the medians and the fitted log-log slopes.
# Usage: bench/scripts/scaling.sh   (from the repository root, after a Release build)
set -euo pipefail
flatness="dotnet tools/Flatness.Cli/bin/Release/net10.0/flatness.dll"
python=/usr/bin/python3
echo "machine: $(lscpu | sed -n 's/^Model name: *//p') (family $(lscpu | sed -n 's/^CPU family: *//p') model $(lscpu | sed -n 's/^Model: *//p')), $(nproc) cores; $(date -u '+%Y-%m-%d %H:%M UTC')"
results=$(mktemp)
trap 'rm -f "$results"' EXIT
for d in 10 14 20 28 40 56 80; do
  echo "gram $d 2000 $($flatness bench objective --d "$d" --depth 3 --n 2000 --path gram --json | tr -d '\n')" >>"$results"
done
for n in 1000 2000 4000 8000 16000 32000; do
  echo "direct 20 $n $($flatness bench objective --d 20 --depth 3 --n "$n" --path direct --json | tr -d '\n')" >>"$results"
done
$python - "$results" <<'PY'
import json, math, sys
rows = []
for line in open(sys.argv[1]):
    path, d, n, payload = line.split(" ", 3)
    rows.append((path, int(d), int(n), json.loads(payload)))

def slope(points):
    xs = [math.log(x) for x, _ in points]
    ys = [math.log(y) for _, y in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)

print()
print("| path | D | n | median ms per evaluation | bytes read per evaluation (MB) |")
print("|---|---:|---:|---:|---:|")
for path, d, n, o in rows:
    print(f"| {path} | {d} | {n} | {o['seconds_per_eval'] * 1e3:.3f} | {o['bytes_per_eval'] / 1e6:.2f} |")
gram = [(d, o["seconds_per_eval"]) for p, d, n, o in rows if p == "gram"]
direct = [(n, o["seconds_per_eval"]) for p, d, n, o in rows if p == "direct"]
print()
print(f"- Gram path, time against D: fitted slope {slope(gram):.2f} over D = {gram[0][0]}..{gram[-1][0]}, "
      f"{slope(gram[-3:]):.2f} over the largest three (expected 4: the pass reads D^4 / 2 values)")
print(f"- direct path, time against n: fitted slope {slope(direct):.2f} over n = {direct[0][0]}..{direct[-1][0]} (expected 1)")
PY
