using System.Numerics;
using Flatness.Kernels.Cpu;
using Flatness.Kernels.Gpu;
using Flatness.Solver.Backends.Core;
using Flatness.Solver.Problems;

namespace Flatness.Solver.Backends.Gpu;

/// <summary>
/// The Gram path on the GPU, mirroring <see cref="Cpu.GramPathOperator{T}"/>: K (d_L^2 x d_0^2, held in full) is built
/// once; then vec S(H_j) = K vec H_j and vec S*(G_j) = K^T vec G_j for all wanted layers in one GEMM each (the H_j
/// and G_j as rows). The loss comes from the residual (the A_i stay resident), exact near interpolation.
/// </summary>
internal sealed class GpuGramPathOperator<T> : GpuDenseMeasurementsOperator<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly DeviceArray<T> _k;
    private readonly DeviceArray<T> _hStack, _gStack; // H_j (d_0^2) and G_j (d_L^2) in slot j

    public GpuGramPathOperator(SensingProblem problem, IReadOnlyList<int> dims, GpuDeviceOps<T> device, CancellationToken cancellation = default)
        : base(problem, dims, device)
    {
        long width = (long)OutputDim * InputDim;
        _k = device.AllocateArray(width * width, "Gram operator K");
        Ops.BuildGram(A, Count, OutputDim, InputDim, _k, cancellation: cancellation);
        _hStack = device.AllocateArray((long)(Depth + 1) * InputDim * InputDim, "H_j = Q_j^T Q_j");
        _gStack = device.AllocateArray((long)(Depth + 1) * OutputDim * OutputDim, "G_j = P_j P_j^T");
        // The constants S(I) (slot 1) and S*(I) (slot L).
        Device.SetIdentity(H(1));
        Device.SetIdentity(G(Depth));
        ApplyS(1, 1);
        ApplySAdjoint(Depth, Depth);
    }

    /// <summary>K held in full (no symmetry savings), built once; two passes over it per evaluation, plus the residual.</summary>
    public static PathCost Cost(ProblemShape shape)
    {
        double k = (double)shape.OutputDim * shape.InputDim * shape.OutputDim * shape.InputDim, a = shape.DenseElements;
        double step = 4 * a + 4 * Math.Max(0, shape.Depth - 2) * k + shape.CoreFlops;
        return new PathCost(2 * shape.Count * k, step, (2 * k + 2 * a) * shape.ElementBytes, (k + a) * shape.ElementBytes,
            shape.CoreLaunches + 6 + 2 * Math.Max(0, shape.Depth - 2));
    }

    public override EvaluationPath Path => EvaluationPath.Gram;

    private DeviceMatrix<T> H(int j) => new(_hStack, (long)j * InputDim * InputDim, InputDim, InputDim, InputDim);
    private DeviceMatrix<T> G(int j) => new(_gStack, (long)j * OutputDim * OutputDim, OutputDim, OutputDim, OutputDim);
    private DeviceMatrix<T> K => new(_k, 0, OutputDim * OutputDim, InputDim * InputDim, InputDim * InputDim);

    /// <summary>Slots first..last of S from the same slots of H: (rows vec S_j) = (rows vec H_j) K^T, one launch.</summary>
    private void ApplyS(int first, int last)
    {
        int d02 = InputDim * InputDim, dl2 = OutputDim * OutputDim, rows = last - first + 1;
        Ops.Gemm(Op.None, Op.Transpose, T.One, new DeviceMatrix<T>(_hStack, (long)first * d02, rows, d02, d02), K, T.Zero,
            new DeviceMatrix<T>(SStack, (long)first * dl2, rows, dl2, dl2));
    }

    /// <summary>Slots first..last of S* from the same slots of G: (rows vec S*_j) = (rows vec G_j) K, one launch.</summary>
    private void ApplySAdjoint(int first, int last)
    {
        int d02 = InputDim * InputDim, dl2 = OutputDim * OutputDim, rows = last - first + 1;
        Ops.Gemm(Op.None, Op.None, T.One, new DeviceMatrix<T>(_gStack, (long)first * dl2, rows, dl2, dl2), K, T.Zero,
            new DeviceMatrix<T>(SAdjointStack, (long)first * d02, rows, d02, d02));
    }

    public override void Prepare(SandwichPlan plan, PartialProducts<T, DeviceMatrix<T>> products, DeviceMatrix<T> z)
    {
        int firstS = int.MaxValue, lastS = 0, firstG = int.MaxValue, lastG = 0;
        for (int j = 2; j <= Depth; j++)
        {
            if (!plan.S[j]) continue;
            Ops.Gemm(Op.Transpose, Op.None, T.One, products.Q[j], products.Q[j], T.Zero, H(j));
            firstS = Math.Min(firstS, j); lastS = j;
        }
        for (int j = 1; j < Depth; j++)
        {
            if (!plan.SAdjoint[j]) continue;
            Ops.Gemm(Op.None, Op.Transpose, T.One, products.P[j], products.P[j], T.Zero, G(j));
            firstG = Math.Min(firstG, j); lastG = j;
        }
        // Slots in between that the plan skips are computed from stale H or G and never read.
        if (lastS > 0) ApplyS(firstS, lastS);
        if (lastG > 0) ApplySAdjoint(firstG, lastG);
        if (plan.Loss) ResidualLoss(products.E, plan.LossGradient ? z : null);
    }

    public override double SFlops(int j) => 2.0 * OutputDim * OutputDim * InputDim * InputDim + 2.0 * Dims[j - 1] * InputDim * InputDim;
    public override double SAdjointFlops(int j) => 2.0 * OutputDim * OutputDim * InputDim * InputDim + 2.0 * Dims[j] * OutputDim * OutputDim;
}
