#!/usr/bin/env python3
"""cuBLAS baseline for `flatness bench gpu-gemm`: square C = A B through torch.matmul, true fp32 (no TF32).

Prints one JSON object: {"device": ..., "gemm": [{"n", "precision", "seconds", "gflops"}, ...]}, or
{"skipped": reason} when PyTorch or a CUDA device is missing.
"""
import argparse
import json
import statistics
import sys
import time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="512,1024,2048,4096,8192")
    parser.add_argument("--precision", default="f32,f64")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    try:
        import torch
    except ImportError:
        print(json.dumps({"skipped": "PyTorch is not installed"}))
        return 0
    if not torch.cuda.is_available():
        print(json.dumps({"skipped": "PyTorch sees no CUDA device"}))
        return 0

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    device = torch.device("cuda")
    dtypes = {"f32": torch.float32, "f64": torch.float64}
    rows = []
    for precision in args.precision.split(","):
        dtype = dtypes[precision.strip()]
        for n in (int(s) for s in args.sizes.split(",")):
            generator = torch.Generator(device=device).manual_seed(n)
            a = torch.rand((n, n), generator=generator, device=device, dtype=dtype) - 0.5
            b = torch.rand((n, n), generator=generator, device=device, dtype=dtype) - 0.5
            c = torch.matmul(a, b)  # warm-up: handle creation, kernel selection
            torch.cuda.synchronize()
            times = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                torch.matmul(a, b, out=c)
                torch.cuda.synchronize()
                times.append(time.perf_counter() - start)
            seconds = statistics.median(times)
            rows.append({"n": n, "precision": precision.strip(), "seconds": seconds, "gflops": 2.0 * n ** 3 / seconds / 1e9})
            del a, b, c
            torch.cuda.empty_cache()
    print(json.dumps({"device": torch.cuda.get_device_name(0), "torch": torch.__version__, "gemm": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
