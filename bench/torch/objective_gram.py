"""The Gram-path objective in PyTorch, as a strong PyTorch user writes it: the peer of `flatness bench objective`.

The same problem and point (written by `flatness bench objective --save DIR`). Setup, timed separately: X (the n x
d_L d_0 matrix of rows vec(A_i)), M = X^T X / n, c = X^T b / n, beta = b^T b / n, and K = M reshuffled so that
S(H) = K vec(H) (d_L^2 x d_0^2). One evaluation: the partial products, the loss e^T M e - 2 c^T e + beta (e = vec E),
the exact trace sum_j 2 <P_j P_j^T, S(Q_j^T Q_j)> with one matrix-vector product with K per layer, and both gradients
by autograd (two backward passes through one graph). Checks loss and trace against the values Flatness printed.
Prints one JSON object.

    /usr/bin/python3 bench/torch/objective_gram.py DIR --loss L --trace T [--precision f64|f32] [--threads T] [--repeats R]
"""
import argparse
import json
import statistics
import time

import numpy as np
import torch


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("directory")
    parser.add_argument("--loss", type=float, required=True, help="Flatness's loss at the point")
    parser.add_argument("--trace", type=float, required=True, help="Flatness's trace at the point")
    parser.add_argument("--precision", choices=["f64", "f32"], default="f64")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    dtype = torch.float64 if args.precision == "f64" else torch.float32

    problem = np.load(f"{args.directory}/problem.npz")
    layers = np.load(f"{args.directory}/layers.npz")
    a = torch.from_numpy(problem["A"]).to(dtype)
    b = torch.from_numpy(problem["b"]).to(dtype)
    n, d_out, d_in = a.shape
    ws = [torch.from_numpy(layers[f"W{j}"]).to(dtype) for j in range(1, len(layers.files) + 1)]

    start = time.perf_counter()
    x = a.reshape(n, d_out * d_in)
    m = x.T @ x / n
    c = x.T @ b / n
    beta = (b @ b) / n
    k = m.view(d_out, d_in, d_out, d_in).permute(0, 2, 1, 3).reshape(d_out * d_out, d_in * d_in).contiguous()
    setup = time.perf_counter() - start

    def evaluate(params):
        depth = len(params)
        # Q_j = W_{j-1} ... W_1 (Q_1 = I) and P_j = W_L ... W_{j+1} (P_L = I).
        q = [torch.eye(d_in, dtype=dtype)]
        for w in params[:-1]:
            q.append(w @ q[-1])
        p = [torch.eye(d_out, dtype=dtype)]
        for w in reversed(params[1:]):
            p.append(p[-1] @ w)
        p.reverse()
        e = (params[-1] @ q[-1]).reshape(-1)
        loss = e @ (m @ e) - 2 * (c @ e) + beta
        trace = 0
        for j in range(depth):
            h = q[j].T @ q[j]
            g = p[j] @ p[j].T
            trace = trace + 2 * (g.reshape(-1) @ (k @ h.reshape(-1)))
        return loss, trace

    def step():
        params = [w.clone().requires_grad_(True) for w in ws]
        loss, trace = evaluate(params)
        grad_loss = torch.autograd.grad(loss, params, retain_graph=True)
        grad_trace = torch.autograd.grad(trace, params)
        return loss.item(), trace.item(), grad_loss, grad_trace

    loss, trace, _, _ = step()
    tolerance = 1e-8 if dtype == torch.float64 else 1e-3
    for name, ours, peer in (("loss", args.loss, loss), ("trace", args.trace, trace)):
        if abs(ours - peer) > tolerance * abs(ours):
            raise SystemExit(f"objective_gram.py: the {name} differs: Flatness {ours!r}, PyTorch {peer!r}")

    for _ in range(5):
        step()
    samples = []
    for _ in range(args.repeats):
        calls, begin = 0, time.perf_counter()
        while calls < 3 or time.perf_counter() - begin < 0.05:
            step()
            calls += 1
        samples.append((time.perf_counter() - begin) / calls)
    print(json.dumps({
        "tool": f"torch {torch.__version__}",
        "precision": args.precision,
        "threads": torch.get_num_threads(),
        "loss": loss,
        "trace": trace,
        "seconds": statistics.median(samples),
        "seconds_min": min(samples),
        "setup_seconds": setup,
    }))


if __name__ == "__main__":
    main()
