using System.Numerics;
using Flatness.Kernels.Cpu;
using Flatness.Kernels.Gpu;
using Flatness.Solver.Backends.Core;
using Flatness.Solver.Problems;

namespace Flatness.Solver.Backends.Gpu;

/// <summary>
/// The GPU side of <see cref="IPathOperator{T, TMatrix}"/>, mirroring <see cref="Cpu.CpuPathOperator{T}"/>: sizes,
/// the labels on the device and the loss from the residual (exact near interpolation), into scalar slot 0.
/// </summary>
internal abstract class GpuPathOperator<T> : IPathOperator<T, DeviceMatrix<T>> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly DeviceArray<T> _labels, _f, _residual;

    protected GpuPathOperator(SensingProblem problem, IReadOnlyList<int> dims, GpuDeviceOps<T> device)
    {
        Device = device;
        Count = problem.Count;
        OutputDim = problem.OutputDim;
        InputDim = problem.InputDim;
        Dims = dims.ToArray();
        Depth = dims.Count - 1;
        _labels = device.Upload(problem.Labels, "labels b");
        _f = device.AllocateArray(Count, "forward f");
        _residual = device.AllocateArray(Count, "residual r");
    }

    public abstract EvaluationPath Path { get; }
    protected GpuDeviceOps<T> Device { get; }
    protected GpuOps<T> Ops => Device.Ops;
    protected int Count { get; }
    protected int OutputDim { get; }
    protected int InputDim { get; }
    protected int[] Dims { get; }
    protected int Depth { get; }
    protected T InverseCount => T.One / T.CreateTruncating(Count);

    public abstract void Prepare(SandwichPlan plan, PartialProducts<T, DeviceMatrix<T>> products, DeviceMatrix<T> z);
    public abstract void MultiplyS(int j, DeviceMatrix<T> p, DeviceMatrix<T> x, T alpha);
    public abstract void MultiplySAdjoint(int j, DeviceMatrix<T> q, DeviceMatrix<T> y, T alpha);
    public abstract double SFlops(int j);
    public abstract double SAdjointFlops(int j);
    public void Dispose() { } // every buffer belongs to the device adapter

    public void ApplyNormal(IReadOnlyList<DeviceMatrix<T>> dE, IReadOnlyList<DeviceMatrix<T>> dZ, T alpha)
    {
        for (int r = 0; r < dE.Count; r++)
        {
            Forward(dE[r], _f);
            Adjoint(_f, alpha, dZ[r]);
        }
    }

    /// <summary>f_i = &lt;A_i, E&gt; into <paramref name="f"/> (length n).</summary>
    protected abstract void Forward(DeviceMatrix<T> e, DeviceArray<T> f);

    /// <summary>Z = alpha sum_i w_i A_i (Z its own whole buffer, d_L x d_0).</summary>
    protected abstract void Adjoint(DeviceArray<T> w, T alpha, DeviceMatrix<T> z);

    /// <summary>Slot 0 = (1/n) ||f - b||^2, and Z = (2/n) sum_i r_i A_i when asked.</summary>
    protected void ResidualLoss(DeviceMatrix<T> e, DeviceMatrix<T>? z)
    {
        Forward(e, _f);
        Ops.Axpby(T.One, _f, -T.One, _labels, _residual, Count);
        Ops.Dot(_residual, 0, _residual, 0, Count, InverseCount, Device.Scalars, 0);
        if (z is { } target) Adjoint(_residual, T.CreateTruncating(2) * InverseCount, target);
    }
}

/// <summary>A GPU path whose sandwiches are dense matrices S(H_j) (d_L x d_L) and S*(G_j) (d_0 x d_0), slot j each.</summary>
internal abstract class GpuDenseSandwichOperator<T> : GpuPathOperator<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    protected GpuDenseSandwichOperator(SensingProblem problem, IReadOnlyList<int> dims, GpuDeviceOps<T> device)
        : base(problem, dims, device)
    {
        SStack = device.AllocateArray((long)(Depth + 1) * OutputDim * OutputDim, "S(H_j)");
        SAdjointStack = device.AllocateArray((long)(Depth + 1) * InputDim * InputDim, "S*(G_j)");
    }

    protected DeviceArray<T> SStack { get; }
    protected DeviceArray<T> SAdjointStack { get; }

    /// <summary>S(H_j), d_L x d_L (j = 1 holds S(I)).</summary>
    protected DeviceMatrix<T> SMatrix(int j) => new(SStack, (long)j * OutputDim * OutputDim, OutputDim, OutputDim, OutputDim);

    /// <summary>S*(G_j), d_0 x d_0 (j = L holds S*(I)).</summary>
    protected DeviceMatrix<T> SAdjointMatrix(int j) => new(SAdjointStack, (long)j * InputDim * InputDim, InputDim, InputDim, InputDim);

    public override void MultiplyS(int j, DeviceMatrix<T> p, DeviceMatrix<T> x, T alpha) =>
        Ops.Gemm(Op.None, Op.None, alpha, SMatrix(j), p, T.Zero, x);

    public override void MultiplySAdjoint(int j, DeviceMatrix<T> q, DeviceMatrix<T> y, T alpha) =>
        Ops.Gemm(Op.None, Op.None, alpha, q, SAdjointMatrix(j), T.Zero, y);

    /// <summary>An identity of size <paramref name="d"/> on the device, for the constant sandwiches.</summary>
    protected DeviceMatrix<T> Identity(int d, string name)
    {
        var m = Device.Allocate(d, d, name);
        Device.SetIdentity(m);
        return m;
    }
}

/// <summary>A dense-sandwich GPU path that holds the A_i stacked (n, d_L, d_0) and reads them for the residual.</summary>
internal abstract class GpuDenseMeasurementsOperator<T> : GpuDenseSandwichOperator<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    protected GpuDenseMeasurementsOperator(SensingProblem problem, IReadOnlyList<int> dims, GpuDeviceOps<T> device)
        : base(problem, dims, device) =>
        A = device.Upload(DenseStack.Of(problem.Measurements), "measurements A");

    /// <summary>The A_i stacked, row i of the n x (d_L d_0) matrix X is vec(A_i).</summary>
    protected DeviceArray<T> A { get; }

    private DeviceMatrix<T> X => new(A, 0, Count, OutputDim * InputDim, OutputDim * InputDim);

    private DeviceMatrix<T> Flat(DeviceMatrix<T> m) => new(m.Buffer, m.Offset, 1, OutputDim * InputDim, OutputDim * InputDim);

    /// <summary>f = X vec(E).</summary>
    protected override void Forward(DeviceMatrix<T> e, DeviceArray<T> f) =>
        Ops.Gemm(Op.None, Op.Transpose, T.One, X, Flat(e), T.Zero, new DeviceMatrix<T>(f, 0, Count, 1, 1));

    /// <summary>vec(Z) = alpha X^T w.</summary>
    protected override void Adjoint(DeviceArray<T> w, T alpha, DeviceMatrix<T> z) =>
        Ops.Gemm(Op.Transpose, Op.None, alpha, new DeviceMatrix<T>(w, 0, Count, 1, 1), X, T.Zero, Flat(z));
}
