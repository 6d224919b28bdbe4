using System.Numerics;
using Flatness.Kernels.Cpu;
using Flatness.Kernels.Gpu;
using Flatness.Solver.Backends.Core;
using Flatness.Solver.Problems;

namespace Flatness.Solver.Backends.Gpu;

/// <summary>
/// The direct path on the GPU, mirroring <see cref="Cpu.DirectPathOperator{T}"/>: the A_i stacked (n, d_L, d_0) stay
/// resident; S(H_j) = (1/n) sum_i B_i B_i^T with B_i = A_i Q_j^T and S*(G_j) = (1/n) sum_i D_i^T D_i with
/// D_i = P_j^T A_i, over blocks of measurements, every product one launch over the block. S(I), S*(I) once.
/// </summary>
internal sealed class GpuDirectPathOperator<T> : GpuDenseMeasurementsOperator<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly DeviceArray<T> _aQ, _pA; // scratch: A_i Q^T (chunk x d_L x w), P^T A_i (chunk x w x d_0)
    private readonly int _chunk;

    public GpuDirectPathOperator(SensingProblem problem, IReadOnlyList<int> dims, GpuDeviceOps<T> device, int? chunk = null)
        : base(problem, dims, device)
    {
        int maxWidth = Math.Max(dims.Max(), 1);
        long perMeasurement = (long)OutputDim * maxWidth + (long)maxWidth * InputDim;
        _chunk = Math.Clamp(chunk ?? (int)Math.Clamp(ScratchElements(device.Context) / perMeasurement, 1, Count), 1, Count);
        _aQ = device.AllocateArray((long)_chunk * OutputDim * maxWidth, "direct scratch A_i Q^T");
        _pA = device.AllocateArray((long)_chunk * maxWidth * InputDim, "direct scratch P^T A_i");
        SOf(Identity(InputDim, "I_{d_0}"), SMatrix(1));
        SAdjointOf(Identity(OutputDim, "I_{d_L}"), SAdjointMatrix(Depth));
    }

    /// <summary>Per evaluation both sandwiches of every inner layer in blocks, plus the residual; A and the block scratch resident.</summary>
    public static PathCost Cost(ProblemShape shape)
    {
        int d0 = shape.InputDim, dL = shape.OutputDim;
        double n = shape.Count, a = shape.DenseElements, step = 4 * a + shape.CoreFlops;
        for (int j = 2; j < shape.Depth; j++)
            step += 2 * n * dL * shape.Dims[j - 1] * (d0 + dL) + 2 * n * d0 * shape.Dims[j] * (d0 + dL);
        double scratch = Math.Min(n * shape.Dims.Max() * (dL + d0), 1L << 31);
        return new PathCost(0, step, (2 + 2.0 * Math.Max(0, shape.Depth - 2)) * a * shape.ElementBytes, (a + scratch) * shape.ElementBytes,
            shape.CoreLaunches + 6 + 6 * Math.Max(0, shape.Depth - 2));
    }

    public override EvaluationPath Path => EvaluationPath.Direct;

    /// <summary>Scratch elements for the measurement blocks: a quarter of the device's memory (16M on the CPU accelerator).</summary>
    private static long ScratchElements(GpuContext context)
    {
        long elements = context.Kind == GpuKind.Cpu ? 1L << 24 : context.Info.MemoryBytes / 4 / System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        return Math.Clamp(elements, 1L << 20, 1L << 31);
    }

    public override void Prepare(SandwichPlan plan, PartialProducts<T, DeviceMatrix<T>> products, DeviceMatrix<T> z)
    {
        for (int j = 2; j <= Depth; j++) if (plan.S[j]) SOf(products.Q[j], SMatrix(j));
        for (int j = 1; j < Depth; j++) if (plan.SAdjoint[j]) SAdjointOf(products.P[j], SAdjointMatrix(j));
        if (plan.Loss) ResidualLoss(products.E, plan.LossGradient ? z : null);
    }

    /// <summary>s = (1/n) sum_i (A_i Q^T)(A_i Q^T)^T for q of d_0 columns.</summary>
    private void SOf(DeviceMatrix<T> q, DeviceMatrix<T> s)
    {
        int w = q.Rows;
        long aSize = (long)OutputDim * InputDim;
        for (int i0 = 0; i0 < Count; i0 += _chunk)
        {
            int c = Math.Min(_chunk, Count - i0);
            var block = new DeviceMatrix<T>(A, i0 * aSize, c * OutputDim, InputDim, InputDim);
            var aq = new DeviceMatrix<T>(_aQ, 0, c * OutputDim, w, w);
            Ops.Gemm(Op.None, Op.Transpose, T.One, block, q, T.Zero, aq);
            var first = new DeviceMatrix<T>(_aQ, 0, OutputDim, w, w);
            Ops.SumOfProducts(Op.None, Op.Transpose, c, InverseCount, first, (long)OutputDim * w, first, (long)OutputDim * w,
                i0 == 0 ? T.Zero : T.One, s);
        }
    }

    /// <summary>s = (1/n) sum_i (P^T A_i)^T (P^T A_i) for p of d_L rows.</summary>
    private void SAdjointOf(DeviceMatrix<T> p, DeviceMatrix<T> s)
    {
        int w = p.Cols;
        long aSize = (long)OutputDim * InputDim;
        for (int i0 = 0; i0 < Count; i0 += _chunk)
        {
            int c = Math.Min(_chunk, Count - i0);
            var first = new DeviceMatrix<T>(A, i0 * aSize, OutputDim, InputDim, InputDim);
            var pa = new DeviceMatrix<T>(_pA, 0, w, InputDim, InputDim);
            Ops.BatchedGemm(Op.Transpose, Op.None, c, T.One, p, 0, first, aSize, T.Zero, pa, (long)w * InputDim);
            var block = new DeviceMatrix<T>(_pA, 0, c * w, InputDim, InputDim);
            Ops.Gemm(Op.Transpose, Op.None, InverseCount, block, block, i0 == 0 ? T.Zero : T.One, s);
        }
    }

    public override double SFlops(int j) => 2.0 * Count * OutputDim * Dims[j - 1] * (InputDim + OutputDim);
    public override double SAdjointFlops(int j) => 2.0 * Count * InputDim * Dims[j] * (InputDim + OutputDim);
}
