#!/usr/bin/env python3
"""Joins the JSON files run.sh wrote into the markdown tables printed last (and saved as summary.md)."""
import json
import sys
from pathlib import Path


def load(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def main(out: Path) -> int:
    lines = []
    devices = load(out / "devices.json") or {}
    gpus = [d for d in devices.get("accelerators", []) if d.get("type") in ("cuda", "opencl")]
    gpu_name = gpus[0]["name"] if gpus else "no GPU"
    cpu = devices.get("cpu", {})
    lines.append(f"Device: {gpu_name}; CPU: {cpu.get('cores', '?')} cores, {cpu.get('vector_bits', '?')}-bit vectors")
    lines.append("")

    check = load(out / "check.json")
    if check:
        worst = {}
        for c in check["checks"]:
            worst[c["precision"]] = max(worst.get(c["precision"], 0.0),
                                        *(c[k] or 0.0 for k in ("loss", "trace", "loss_gradient", "trace_gradient")))
        verdict = "PASS" if check["ok"] else "FAIL"
        lines.append(f"Check ILGPU vs CPU: {verdict}; worst relative error f64 {worst.get('f64', float('nan')):.1e}, "
                     f"f32 {worst.get('f32', float('nan')):.1e} ({len(check['checks'])} cases)")
        lines.append("")

    ilgpu = []
    try:
        ilgpu = [json.loads(line) for line in (out / "gemm-ilgpu.jsonl").read_text().splitlines() if line.strip()]
    except (OSError, ValueError):
        pass
    torch = load(out / "gemm-torch.json") or {}
    baseline = {(r["n"], r["precision"]): r for r in torch.get("gemm", [])}
    lines.append("| GEMM n | precision | ILGPU ms | ILGPU GFLOP/s | cuBLAS ms | cuBLAS GFLOP/s | ILGPU / cuBLAS |")
    lines.append("|---|---|---|---|---|---|---|")
    for r in ilgpu:
        b = baseline.get((r["size"], r["precision"]))
        ratio = f"{r['gflops'] / b['gflops']:.2f}" if b else "-"
        base_ms = f"{b['seconds'] * 1e3:.3g}" if b else "-"
        base_gflops = f"{b['gflops']:.4g}" if b else "-"
        lines.append(f"| {r['size']} | {r['precision']} | {r['seconds_median'] * 1e3:.3g} | {r['gflops']:.4g} | {base_ms} | {base_gflops} | {ratio} |")
    if "skipped" in torch:
        lines.append(f"(cuBLAS baseline skipped: {torch['skipped']})")
    lines.append("")

    lines.append("| objective step | path | precision | GPU ms | CPU ms | speedup | max rel. difference |")
    lines.append("|---|---|---|---|---|---|---|")
    for name in ("objective-small.json", "objective-large.json", "objective-large-gram.json"):
        o = load(out / name)
        if not o:
            continue
        for s in o["steps"]:
            cpu_ms = f"{s['cpu_seconds'] * 1e3:.4g}" if s["cpu_seconds"] is not None else "-"
            speedup = f"{s['speedup']:.1f}x" if s["speedup"] is not None else "-"
            diff = f"{s['max_relative_difference']:.1e}" if s["max_relative_difference"] is not None else "-"
            lines.append(f"| {o['size']} | {s['path']} | {s['precision']} | {s['gpu_seconds'] * 1e3:.4g} | {cpu_ms} | {speedup} | {diff} |")
    text = "\n".join(lines)
    (out / "summary.md").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
