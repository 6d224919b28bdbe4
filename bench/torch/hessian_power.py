"""PyHessian-style sharpness in PyTorch: power iteration on autograd Hessian-vector products (double backward).

The peer of `flatness bench hessian`: the same problem and point (written by `flatness bench hessian --save DIR`),
the loss L(W) = (1/n) sum_i (<A_i, W_L ... W_1> - b_i)^2 in float64, and PyHessian's stopping rule (relative change
of the eigenvalue estimate below 1e-3, at most 100 iterations). Prints one JSON object.

    /usr/bin/python3 bench/torch/hessian_power.py DIR [--repeats R] [--threads T]
"""
import argparse
import json
import statistics
import time

import numpy as np
import torch


def load(directory):
    problem = np.load(f"{directory}/problem.npz")
    layers = np.load(f"{directory}/layers.npz")
    a = torch.from_numpy(problem["A"]).double()           # (n, d_L, d_0)
    b = torch.from_numpy(problem["b"]).double()
    ws = [torch.from_numpy(layers[f"W{j}"]).double() for j in range(1, len(layers.files) + 1)]
    return a, b, ws


def loss(a, b, ws):
    e = ws[0]
    for w in ws[1:]:
        e = w @ e
    f = torch.einsum("iab,ab->i", a, e)
    return ((f - b) ** 2).mean()


def power_iteration(a, b, ws, tol=1e-3, max_iter=100, seed=0):
    params = [w.clone().requires_grad_(True) for w in ws]
    grads = torch.autograd.grad(loss(a, b, params), params, create_graph=True)
    gen = torch.Generator().manual_seed(seed)
    v = [torch.randn(p.shape, generator=gen, dtype=torch.float64) for p in params]
    norm = torch.sqrt(sum((x * x).sum() for x in v))
    v = [x / norm for x in v]
    eigenvalue, iterations = None, 0
    for iterations in range(1, max_iter + 1):
        hv = torch.autograd.grad(grads, params, grad_outputs=v, retain_graph=True)
        estimate = sum((h * x).sum() for h, x in zip(hv, v)).item()
        norm = torch.sqrt(sum((h * h).sum() for h in hv))
        v = [h / norm for h in hv]
        if eigenvalue is not None and abs(estimate - eigenvalue) / (abs(eigenvalue) + 1e-6) < tol:
            eigenvalue = estimate
            break
        eigenvalue = estimate
    return eigenvalue, iterations


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("directory")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    a, b, ws = load(args.directory)
    power_iteration(a, b, ws)  # warm-up
    times = []
    for r in range(args.repeats):
        start = time.perf_counter()
        eigenvalue, iterations = power_iteration(a, b, ws, seed=r)
        times.append(time.perf_counter() - start)
    print(json.dumps({"tool": f"torch {torch.__version__}", "threads": torch.get_num_threads(), "lambda_max": eigenvalue,
                      "iterations": iterations, "seconds": statistics.median(times), "seconds_min": min(times)}))


if __name__ == "__main__":
    main()
