#!/usr/bin/env bash
# Times `flatness bench objective` of two builds side by side, interleaved, so both see the same machine state.
# Usage: bench/scripts/objective-before-after.sh BEFORE_DIR AFTER_DIR [ROUNDS]
# (each DIR holds a published CLI: dotnet publish tools/Flatness.Cli -c Release -o DIR)
set -euo pipefail
before=$1 after=$2 rounds=${3:-3}
cases=("50 3 2000 f64" "50 3 2000 f32" "100 4 8000 f64" "100 4 8000 f32")
printf '| build | D | L | N | precision | path | median ms per evaluation (best of %s runs) |\n|---|---|---|---|---|---|---|\n' "$rounds"
for c in "${cases[@]}"; do
  read -r d l n p <<<"$c"
  for build in before after; do
    dir=${!build}
    best=""
    for ((r = 0; r < rounds; r++)); do
      json=$(dotnet "$dir/flatness.dll" bench objective --d "$d" --depth "$l" --n "$n" --precision "$p" --backend cpu --repeats 15 --json)
      ms=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["seconds_per_eval"]*1e3)' "$json")
      path=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["path"])' "$json")
      best=$(python3 -c "print(min(float(x) for x in '$best $ms'.split()))")
    done
    printf '| %s | %s | %s | %s | %s | %s | %.3f |\n' "$build" "$d" "$l" "$n" "$p" "$path" "$best"
  done
done
