#!/usr/bin/env bash
# Time to the sharpness lambda_max: Flatness (Lanczos on the exact Hessian-vector product, to 1e-10) against a
# PyHessian-style power iteration in PyTorch (autograd Hessian-vector products, stopping at 1e-3 relative change),
# on the same problem and point, in one run, alternating. Needs Debian's python3-torch and python3-numpy.
# Usage: bench/scripts/hessian-vs-torch.sh [ROUNDS]   (from the repository root, after a Release build)
set -euo pipefail
rounds=${1:-3}
python=/usr/bin/python3
if ! $python -c "import torch, numpy" 2>/dev/null; then
  apt-get update -qq && apt-get install -y -qq python3-torch python3-numpy >/dev/null
fi
flatness="dotnet tools/Flatness.Cli/bin/Release/net10.0/flatness.dll"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
$flatness bench hessian --d 50 --depth 3 --n 2000 --save "$dir" --repeats 1 --json >/dev/null
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; $($python -c 'import torch; print("torch", torch.__version__)')"
echo
echo "| round | tool | lambda_max | relative error vs the exact | products | median s | min s | floor s (every product's bytes read once, same run) |"
echo "|---|---|---|---|---|---|---|---|"
for ((r = 1; r <= rounds; r++)); do
  ours=$($flatness bench hessian --d 50 --depth 3 --n 2000 --repeats 7 --json)
  exact=$($python -c 'import json,sys; print(json.loads(sys.argv[1])["lambda_max"])' "$ours")
  drafted=$($flatness bench hessian --d 50 --depth 3 --n 2000 --repeats 7 --json --draft f32)
  for o in "$ours" "$drafted"; do
    $python - "$o" "$exact" "$r" <<'PY'
import json, sys
o, exact, r = json.loads(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
how = f"Lanczos on an f32 draft, certified in f64 to {o['tolerance']:g}" if o['draft'] else f"Lanczos to {o['tolerance']:g}"
products = f"{o['matvecs']} f64 + {o['draft_matvecs']} f32" if o['draft'] else f"{o['matvecs']}"
error = "0 (reference)" if not o['draft'] else f"{abs(o['lambda_max'] - exact) / exact:.1e}"
print(f"| {r} | flatness ({o['backend']}, {o['path']}, {how}) | {o['lambda_max']:.12g} | {error} | {products} | {o['seconds']:.4f} | {o['seconds_min']:.4f} | {o['floor_seconds']:.4f} |")
PY
  done
  for threads in 1 2; do
    peer=$($python bench/torch/hessian_power.py "$dir" --repeats 7 --threads $threads)
    $python - "$peer" "$exact" "$r" <<'PY'
import json, sys
p, exact, r = json.loads(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
print(f"| {r} | {p['tool']} power iteration, {p['threads']} thread(s), tol 1e-3 | {p['lambda_max']:.12g} | {abs(p['lambda_max'] - exact) / exact:.1e} | {p['iterations']} | {p['seconds']:.4f} | {p['seconds_min']:.4f} | |")
PY
  done
done
