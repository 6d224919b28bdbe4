"""Write a Gaussian sensing problem and random layers in the layout `flatness` reads.

    python examples/make_example.py OUT_DIR

The files shipped in examples/gaussian-small were made by the project's own test helper with the same recipe
(its random numbers differ from NumPy's); this script shows the file format and makes new problems.

problem.npz  A (n, d_L, d_0) float64   measurement matrices A_i, stacked
             b (n,) float64            labels b_i = <A_i, M_star>
             M_star (d_L, d_0) float64 ground truth (optional in general)
layers.npz   W1 .. WL                  W_j of shape (d_j, d_{j-1}), float64

Other problem kinds use other arrays instead of A:
  matrix completion: rows, cols (n,) int64 indices, shape [d_L, d_0] int64, optional scale (float64 scalar)
  rank-one:          u (n, d_L) and v (n, d_0) float64, A_i = u_i v_i^T
"""
import os
import sys

import numpy as np


def main(out_dir, d0=6, dl=5, n=60, rank=2, hidden=(4, 4), seed=20240601):
    rng = np.random.default_rng(seed)
    m_star = rng.standard_normal((dl, rank)) @ rng.standard_normal((rank, d0))
    m_star /= np.linalg.norm(m_star)  # ||M*||_F = 1
    a = rng.standard_normal((n, dl, d0))
    b = np.einsum("iab,ab->i", a, m_star)

    dims = [d0, *hidden, dl]
    layers = {
        f"W{j}": rng.standard_normal((dims[j], dims[j - 1])) / np.sqrt(dims[j - 1])
        for j in range(1, len(dims))
    }

    os.makedirs(out_dir, exist_ok=True)
    np.savez(os.path.join(out_dir, "problem.npz"), A=a, b=b, M_star=m_star)
    np.savez(os.path.join(out_dir, "layers.npz"), **layers)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
