using System.Numerics;
using Flatness.Kernels.Cpu;
using Flatness.Kernels.Gpu;
using Flatness.Solver.Backends.Core;
using Flatness.Solver.Problems;

namespace Flatness.Solver.Backends.Gpu;

/// <summary>
/// Matrix completion on the GPU, mirroring <see cref="Cpu.CompletionPathOperator{T}"/>: with C the (s^2/n)-weighted
/// observation counts per cell (d_L x d_0), S(H) = diag(C diag H) and S*(G) = diag(C^T diag G), so S(H_j) P_j scales
/// the rows of P_j and Q_j S*(G_j) the columns of Q_j. Forward gathers, the adjoint sums per observed cell.
/// </summary>
internal sealed class GpuCompletionPathOperator<T> : GpuPathOperator<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly DeviceArray<int> _rows, _cols, _cellStart, _cellOrder;
    private readonly DeviceMatrix<T> _weights;
    private readonly T _scale;
    private readonly DeviceArray<T> _sDiagonal, _sAdjointDiagonal; // slot j: d_L, d_0
    private readonly DeviceArray<T> _hDiagonal, _gDiagonal;

    public GpuCompletionPathOperator(SensingProblem problem, IReadOnlyList<int> dims, GpuDeviceOps<T> device) : base(problem, dims, device)
    {
        if (problem.Measurements is not CompletionMeasurements c)
            throw new ArgumentException($"the completion path needs completion measurements, the problem has {problem.Measurements.Kind.Name()}", nameof(problem));
        _rows = device.UploadIndices(c.RowIndex, "completion rows");
        _cols = device.UploadIndices(c.ColIndex, "completion columns");
        var (start, order, weights) = Cells(c);
        _cellStart = device.UploadIndices(start, "completion cell starts");
        _cellOrder = device.UploadIndices(order, "completion cell order");
        _weights = new DeviceMatrix<T>(device.Upload(weights, "completion cell weights"), OutputDim, InputDim);
        _scale = T.CreateTruncating(c.Scale);
        _sDiagonal = device.AllocateArray((long)(Depth + 1) * OutputDim, "diag S(H_j)");
        _sAdjointDiagonal = device.AllocateArray((long)(Depth + 1) * InputDim, "diag S*(G_j)");
        _hDiagonal = device.Upload(Enumerable.Repeat(1.0, InputDim).ToArray(), "diag H_j");
        _gDiagonal = device.Upload(Enumerable.Repeat(1.0, OutputDim).ToArray(), "diag G_j");
        // The constants S(I) (slot 1) and S*(I) (slot L) from diag I = 1.
        SDiagonalFromH(1);
        SAdjointDiagonalFromG(Depth);
    }

    /// <summary>Gather, per-cell sums and diagonal sandwiches from the weighted counts.</summary>
    public static PathCost Cost(ProblemShape shape)
    {
        double n = shape.Count, cells = (double)shape.OutputDim * shape.InputDim;
        double step = 10 * n + 4.0 * Math.Max(1, shape.Depth - 2) * cells + shape.CoreFlops;
        double bytes = (3 * n + cells) * shape.ElementBytes;
        return new PathCost(0, step, bytes, bytes + 3 * n * sizeof(int), shape.CoreLaunches + 5 + 4 * Math.Max(0, shape.Depth - 2));
    }

    public override EvaluationPath Path => EvaluationPath.Completion;

    /// <summary>Groups the measurements by observed cell (CSR) and the per-cell weights (s^2/n) * count.</summary>
    private static (int[] Start, int[] Order, double[] Weights) Cells(CompletionMeasurements c)
    {
        int cells = c.OutputDim * c.InputDim;
        var start = new int[cells + 1];
        for (int i = 0; i < c.Count; i++) start[c.RowIndex[i] * c.InputDim + c.ColIndex[i] + 1]++;
        var weights = new double[cells];
        double w = c.Scale * c.Scale / c.Count;
        for (int t = 0; t < cells; t++) weights[t] = w * start[t + 1];
        for (int t = 0; t < cells; t++) start[t + 1] += start[t];
        var order = new int[c.Count];
        var next = (int[])start.Clone();
        for (int i = 0; i < c.Count; i++) order[next[c.RowIndex[i] * c.InputDim + c.ColIndex[i]]++] = i;
        return (start, order, weights);
    }

    private void SDiagonalFromH(int j) =>
        Ops.Gemm(Op.None, Op.None, T.One, _weights, new DeviceMatrix<T>(_hDiagonal, 0, InputDim, 1, 1), T.Zero,
            new DeviceMatrix<T>(_sDiagonal, (long)j * OutputDim, OutputDim, 1, 1));

    private void SAdjointDiagonalFromG(int j) =>
        Ops.Gemm(Op.Transpose, Op.None, T.One, _weights, new DeviceMatrix<T>(_gDiagonal, 0, OutputDim, 1, 1), T.Zero,
            new DeviceMatrix<T>(_sAdjointDiagonal, (long)j * InputDim, InputDim, 1, 1));

    public override void Prepare(SandwichPlan plan, PartialProducts<T, DeviceMatrix<T>> products, DeviceMatrix<T> z)
    {
        for (int j = 2; j <= Depth; j++)
        {
            if (!plan.S[j]) continue;
            Ops.ColNormsSquared(products.Q[j], _hDiagonal, 0); // diag(Q^T Q)
            SDiagonalFromH(j);
        }
        for (int j = 1; j < Depth; j++)
        {
            if (!plan.SAdjoint[j]) continue;
            Ops.RowDots(products.P[j], products.P[j], T.One, _gDiagonal, 0); // diag(P P^T)
            SAdjointDiagonalFromG(j);
        }
        if (plan.Loss) ResidualLoss(products.E, plan.LossGradient ? z : null);
    }

    public override void MultiplyS(int j, DeviceMatrix<T> p, DeviceMatrix<T> x, T alpha) =>
        Ops.ScaleRows(p, _sDiagonal, (long)j * OutputDim, alpha, x);

    public override void MultiplySAdjoint(int j, DeviceMatrix<T> q, DeviceMatrix<T> y, T alpha) =>
        Ops.ScaleCols(q, _sAdjointDiagonal, (long)j * InputDim, alpha, y);

    public override double SFlops(int j) => 2.0 * Dims[j - 1] * InputDim + 2.0 * OutputDim * InputDim;
    public override double SAdjointFlops(int j) => 2.0 * OutputDim * Dims[j] + 2.0 * OutputDim * InputDim;

    protected override void Forward(DeviceMatrix<T> e, DeviceArray<T> f) => Ops.Gather(e, _rows, _cols, _scale, f);

    protected override void Adjoint(DeviceArray<T> w, T alpha, DeviceMatrix<T> z) =>
        Ops.CellSums(_cellStart, _cellOrder, w, alpha * _scale, z.Buffer);
}
