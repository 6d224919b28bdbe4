#!/usr/bin/env bash
# Check and time the ILGPU backend on a GPU machine, with the self-contained published CLI (no .NET needed).
#   FLATNESS=/tmp/flatness/flatness bash bench/gpu/run.sh [output-directory]
#   QUICK=1 BACKEND=ilgpu-cpu ... runs the same pipeline at toy sizes (to try the script without a GPU).
#   GEMM_SIZES=1024,4096 LARGE_PRECISIONS=f32 trim the GEMM sizes and the precisions of the large CPU comparison.
# Builds nothing. Order: devices, correctness against the CPU in float64, GEMM against cuBLAS (PyTorch, when
# installed), objective steps GPU vs CPU; the markdown summary is printed last and saved as summary.md.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
flatness="${FLATNESS:-/tmp/flatness/flatness}"
backend="${BACKEND:-ilgpu}"
out="${1:-$here/../results/gpu-$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$out"
if [ ! -x "$flatness" ]; then
  echo "run.sh: no flatness executable at $flatness (set FLATNESS; see bench/gpu/README.md)" >&2
  exit 2
fi
gemm_sizes="${GEMM_SIZES:-512,1024,2048,4096,8192}"
large_precisions="${LARGE_PRECISIONS:-f32,f64}"
small=(--d 50 --depth 3 --n 2000); large=(--d 256 --depth 4 --n 20000); check=(--d 24 --n 600)
if [ "${QUICK:-0}" = 1 ]; then
  gemm_sizes=32,64; small=(--d 6 --depth 3 --n 40); large=(--d 8 --depth 4 --n 60); check=(--d 4 --n 30)
fi
status=0
step() { echo; echo "== $*" >&2; }

step "devices"
"$flatness" devices | tee "$out/devices.txt"
"$flatness" devices --json > "$out/devices.json"

step "check: ILGPU against the CPU, every measurement type, path, depth 1-4, f64 and f32"
if ! "$flatness" bench gpu-check --backend "$backend" "${check[@]}" --json > "$out/check.json"; then
  echo "CHECK FAILED (see $out/check.json)" >&2
  status=1
fi

step "GEMM: ILGPU (fp32, fp64; $gemm_sizes)"
: > "$out/gemm-ilgpu.jsonl"
for precision in f32 f64; do
  for n in ${gemm_sizes//,/ }; do
    "$flatness" bench gemm --backend "$backend" --size "$n" --precision "$precision" --repeats 5 --json \
      >> "$out/gemm-ilgpu.jsonl" || { echo "GEMM $n $precision FAILED" >&2; status=1; }
  done
done

step "GEMM: cuBLAS through PyTorch (TF32 off)"
if command -v python3 >/dev/null 2>&1; then
  python3 "$here/torch_gemm.py" --sizes "$gemm_sizes" --precision f32,f64 --repeats 5 > "$out/gemm-torch.json"
else
  echo '{"skipped": "python3 is not installed"}' > "$out/gemm-torch.json"
fi

step "objective step ${small[*]} (direct and Gram, GPU vs CPU)"
"$flatness" bench gpu-objective --backend "$backend" "${small[@]}" --paths direct,gram --precision f32,f64 \
  --repeats 10 --cpu-repeats 3 --json > "$out/objective-small.json" || status=1

step "objective step ${large[*]} (direct, GPU vs CPU; the CPU takes a while)"
"$flatness" bench gpu-objective --backend "$backend" "${large[@]}" --paths direct --precision "$large_precisions" \
  --repeats 3 --cpu-repeats 1 --json > "$out/objective-large.json" || status=1

step "objective step ${large[*]} (Gram on the GPU only)"
"$flatness" bench gpu-objective --backend "$backend" "${large[@]}" --paths gram --precision f32 \
  --repeats 5 --cpu-repeats 0 --json > "$out/objective-large-gram.json" || status=1

step "summary ($out)"
if command -v python3 >/dev/null 2>&1; then
  python3 "$here/table.py" "$out"
else
  cat "$out"/*.json
fi
exit $status
