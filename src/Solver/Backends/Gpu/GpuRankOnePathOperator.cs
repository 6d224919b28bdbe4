using System.Numerics;
using Flatness.Kernels.Cpu;
using Flatness.Kernels.Gpu;
using Flatness.Solver.Backends.Core;
using Flatness.Solver.Problems;

namespace Flatness.Solver.Backends.Gpu;

/// <summary>
/// Rank-one measurements A_i = u_i v_i^T on the GPU, mirroring <see cref="Cpu.RankOnePathOperator{T}"/>:
/// S(H_j) = (1/n) U^T diag(h) U with h_i = ||Q_j v_i||^2 and S*(G_j) = (1/n) V^T diag(g) V with g_i = ||P_j^T u_i||^2,
/// O(n d^2) per sandwich; f_i = u_i^T E v_i.
/// </summary>
internal sealed class GpuRankOnePathOperator<T> : GpuDenseSandwichOperator<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly DeviceMatrix<T> _u, _v;                // n x d_L, n x d_0
    private readonly DeviceArray<T> _products, _scaled;     // n x (max width), n x max(d_L, d_0)
    private readonly DeviceArray<T> _forms;                 // h_i or g_i

    public GpuRankOnePathOperator(SensingProblem problem, IReadOnlyList<int> dims, GpuDeviceOps<T> device) : base(problem, dims, device)
    {
        if (problem.Measurements is not RankOneMeasurements r)
            throw new ArgumentException($"the rank-one path needs rank-one measurements, the problem has {problem.Measurements.Kind.Name()}", nameof(problem));
        _u = new DeviceMatrix<T>(device.Upload(r.U, "rank-one U"), Count, OutputDim);
        _v = new DeviceMatrix<T>(device.Upload(r.V, "rank-one V"), Count, InputDim);
        _products = device.AllocateArray((long)Count * Math.Max(dims.Max(), 1), "rank-one U P or V Q^T");
        _scaled = device.AllocateArray((long)Count * Math.Max(OutputDim, InputDim), "rank-one scaled rows");
        _forms = device.AllocateArray(Count, "rank-one quadratic forms");
        // The constants: S(I) from h_i = ||v_i||^2, S*(I) from g_i = ||u_i||^2.
        Ops.RowDots(_v, _v, T.One, _forms, 0);
        WeightedGram(_u, SMatrix(1));
        Ops.RowDots(_u, _u, T.One, _forms, 0);
        WeightedGram(_v, SAdjointMatrix(Depth));
    }

    /// <summary>GEMMs over U and V per inner layer, plus the residual.</summary>
    public static PathCost Cost(ProblemShape shape)
    {
        int d0 = shape.InputDim, dL = shape.OutputDim;
        double n = shape.Count, step = 4 * n * (dL + d0) * dL + shape.CoreFlops;
        for (int j = 2; j < shape.Depth; j++) step += 2 * n * (shape.Dims[j - 1] * d0 + dL * dL + shape.Dims[j] * dL + d0 * d0);
        return new PathCost(0, step, 6 * n * (dL + d0) * shape.ElementBytes, 4 * n * (dL + d0 + shape.Dims.Max()) * shape.ElementBytes,
            shape.CoreLaunches + 6 + 8 * Math.Max(0, shape.Depth - 2));
    }

    public override EvaluationPath Path => EvaluationPath.RankOne;

    /// <summary>s = (1/n) F^T diag(forms) F for F = U or V.</summary>
    private void WeightedGram(DeviceMatrix<T> f, DeviceMatrix<T> s)
    {
        var scaled = new DeviceMatrix<T>(_scaled, 0, Count, f.Cols, f.Cols);
        Ops.ScaleRows(f, _forms, 0, T.One, scaled);
        Ops.Gemm(Op.Transpose, Op.None, InverseCount, f, scaled, T.Zero, s);
    }

    public override void Prepare(SandwichPlan plan, PartialProducts<T, DeviceMatrix<T>> products, DeviceMatrix<T> z)
    {
        for (int j = 2; j <= Depth; j++)
        {
            if (!plan.S[j]) continue;
            var q = products.Q[j];
            var vq = new DeviceMatrix<T>(_products, 0, Count, q.Rows, q.Rows); // rows (Q_j v_i)^T
            Ops.Gemm(Op.None, Op.Transpose, T.One, _v, q, T.Zero, vq);
            Ops.RowDots(vq, vq, T.One, _forms, 0);
            WeightedGram(_u, SMatrix(j));
        }
        for (int j = 1; j < Depth; j++)
        {
            if (!plan.SAdjoint[j]) continue;
            var p = products.P[j];
            var up = new DeviceMatrix<T>(_products, 0, Count, p.Cols, p.Cols); // rows (P_j^T u_i)^T
            Ops.Gemm(Op.None, Op.None, T.One, _u, p, T.Zero, up);
            Ops.RowDots(up, up, T.One, _forms, 0);
            WeightedGram(_v, SAdjointMatrix(j));
        }
        if (plan.Loss) ResidualLoss(products.E, plan.LossGradient ? z : null);
    }

    public override double SFlops(int j) => 2.0 * Count * Dims[j - 1] * InputDim + 2.0 * Count * OutputDim * OutputDim;
    public override double SAdjointFlops(int j) => 2.0 * Count * Dims[j] * OutputDim + 2.0 * Count * InputDim * InputDim;

    /// <summary>f_i = u_i^T (E v_i): rows of V E^T dotted with rows of U.</summary>
    protected override void Forward(DeviceMatrix<T> e, DeviceArray<T> f)
    {
        var ve = new DeviceMatrix<T>(_scaled, 0, Count, OutputDim, OutputDim);
        Ops.Gemm(Op.None, Op.Transpose, T.One, _v, e, T.Zero, ve);
        Ops.RowDots(_u, ve, T.One, f, 0);
    }

    /// <summary>Z = alpha U^T diag(w) V.</summary>
    protected override void Adjoint(DeviceArray<T> w, T alpha, DeviceMatrix<T> z)
    {
        var wv = new DeviceMatrix<T>(_scaled, 0, Count, InputDim, InputDim);
        Ops.ScaleRows(_v, w, 0, T.One, wv);
        Ops.Gemm(Op.Transpose, Op.None, alpha, _u, wv, T.Zero, z);
    }
}
