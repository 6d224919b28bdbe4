#!/usr/bin/env bash
# One evaluation of loss, exact Hessian trace and both gradients on the Gram path: Flatness (`bench objective`)
# against the same algorithm in PyTorch (bench/torch/objective_gram.py: K precomputed, one matrix-vector product
# per layer, autograd for the gradients), on the same problem and point, float64 and float32, in one run. The peer
# checks that its loss and trace equal ours. PyTorch runs with 1 and with 2 threads; the faster is the anchor.
# Needs Debian's python3-torch and python3-numpy (installed when missing).
# Usage: bench/scripts/objective-vs-torch.sh [ROUNDS]   (from the repository root, after a Release build)
set -euo pipefail
rounds=${1:-1}
python=/usr/bin/python3
if ! $python -c "import torch, numpy" 2>/dev/null; then
  apt-get update -qq && apt-get install -y -qq python3-torch python3-numpy >/dev/null
fi
flatness="dotnet tools/Flatness.Cli/bin/Release/net10.0/flatness.dll"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
echo "machine: $(lscpu | sed -n 's/^Model name: *//p') (family $(lscpu | sed -n 's/^CPU family: *//p') model $(lscpu | sed -n 's/^Model: *//p')), $(nproc) cores; $($python -c 'import torch; print("torch", torch.__version__)'); $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "| D | depth | n | precision | Flatness ms (median) | PyTorch 1 thread ms | PyTorch 2 threads ms | speed-up vs the faster | Flatness setup s | PyTorch setup s (X^T X) | Flatness GB/s | floor GB/s | Flatness / floor |"
echo "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for ((r = 1; r <= rounds; r++)); do
  for shape in "20 3 2000" "50 3 2000" "100 4 8000"; do
    read -r d depth n <<<"$shape"
    rm -f "$dir"/*.npz
    for precision in f64 f32; do
      save=()
      [[ -f "$dir/problem.npz" ]] || save=(--save "$dir")
      ours=$($flatness bench objective --d "$d" --depth "$depth" --n "$n" --precision "$precision" --path gram --json "${save[@]}")
      loss=$($python -c 'import json,sys; print(repr(json.loads(sys.argv[1])["loss"]))' "$ours")
      trace=$($python -c 'import json,sys; print(repr(json.loads(sys.argv[1])["trace"]))' "$ours")
      one=$($python bench/torch/objective_gram.py "$dir" --loss "$loss" --trace "$trace" --precision "$precision" --threads 1)
      two=$($python bench/torch/objective_gram.py "$dir" --loss "$loss" --trace "$trace" --precision "$precision" --threads 2)
      $python - "$ours" "$one" "$two" <<'PY'
import json, sys
o, p1, p2 = (json.loads(a) for a in sys.argv[1:4])
best = min(p1["seconds"], p2["seconds"])
setup = min(p1["setup_seconds"], p2["setup_seconds"])
print(f"| {o['d']} | {o['depth']} | {o['n']} | {o['precision']} | {o['seconds_per_eval'] * 1e3:.3f} | {p1['seconds'] * 1e3:.3f} | "
      f"{p2['seconds'] * 1e3:.3f} | {best / o['seconds_per_eval']:.1f}x | {o['setup_seconds']:.3f} | {setup:.3f} | "
      f"{o['gb_per_second']:.1f} | {o['stream_gb_per_second']:.1f} | {o['ratio_to_floor']:.2f} |")
PY
    done
  done
done
