using System.Numerics;
using Flatness.Kernels.Cpu;

namespace Flatness.Solver.Backends.Core;

/// <summary>
/// The layers W_j and all partial products of one factorisation on a device, indexed as in the notation of docs/DESIGN.md
/// (see <see cref="Evaluator{T, TMatrix}"/>): <c>W[j]</c> = W_j (d_j x d_{j-1}, j = 1..L),
/// <c>Q[j]</c> = Q_j = W_{j-1:1} (d_{j-1} x d_0, j = 1..L+1; Q_1 = I, Q_{L+1} = E) and
/// <c>P[j]</c> = P_j = W_{L:j+1} (d_L x d_j, j = 1..L; P_L = I). 2L - 3 GEMMs for L &gt;= 2.
/// </summary>
internal sealed class PartialProducts<T, TMatrix> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly IDeviceOps<T, TMatrix> _ops;
    private readonly TMatrix[] _layerStack; // W_1..W_L in one buffer, index 0 is W_1

    public PartialProducts(IDeviceOps<T, TMatrix> ops, IReadOnlyList<int> dims)
    {
        _ops = ops;
        Dims = dims.ToArray();
        int depth = Depth, d0 = Dims[0], dL = Dims[depth];
        var w = ops.AllocateStack(Enumerable.Range(1, depth).Select(j => (Dims[j], Dims[j - 1])).ToArray(), "layers W_j");
        _layerStack = w;
        W = [default!, .. w];
        Q = new TMatrix[depth + 2];
        P = new TMatrix[depth + 1];
        Q[1] = ops.Allocate(d0, d0, "Q_1 = I");
        ops.SetIdentity(Q[1]);
        for (int j = 2; j <= depth + 1; j++) Q[j] = ops.Allocate(Dims[j - 1], d0, $"Q_{j}");
        P[depth] = ops.Allocate(dL, dL, "P_L = I");
        ops.SetIdentity(P[depth]);
        for (int j = 1; j < depth; j++) P[j] = ops.Allocate(dL, Dims[j], $"P_{j}");
    }

    /// <summary>[d_0, .., d_L].</summary>
    public int[] Dims { get; }
    public int Depth => Dims.Length - 1;
    public TMatrix[] W { get; }
    public TMatrix[] Q { get; }
    public TMatrix[] P { get; }
    /// <summary>E = W_{L:1} = Q_{L+1} (d_L x d_0).</summary>
    public TMatrix E => Q[Depth + 1];

    /// <summary>Loads the layers (float64, checked by the caller) and forms Q_j, and P_j when <paramref name="withP"/>.</summary>
    public void Compute(IReadOnlyList<Kernels.Tensors.Matrix<double>> layers, bool withP)
    {
        int depth = Depth;
        _ops.UploadStack(layers, _layerStack);
        // Q_2 = W_1 (Q_1 = I), Q_{j+1} = W_j Q_j.
        _ops.Copy(W[1], Q[2]);
        for (int j = 2; j <= depth; j++) _ops.Gemm(Op.None, Op.None, T.One, W[j], Q[j], T.Zero, Q[j + 1]);
        if (!withP || depth == 1) return;
        // P_{L-1} = W_L (P_L = I), P_{j-1} = P_j W_j.
        _ops.Copy(W[depth], P[depth - 1]);
        for (int j = depth - 1; j >= 2; j--) _ops.Gemm(Op.None, Op.None, T.One, P[j], W[j], T.Zero, P[j - 1]);
    }
}
