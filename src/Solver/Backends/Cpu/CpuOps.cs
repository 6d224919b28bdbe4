using System.Numerics;
using Flatness.Kernels.Cpu;
using Flatness.Kernels.Tensors;
using Flatness.Solver.Backends.Core;

namespace Flatness.Solver.Backends.Cpu;

/// <summary>The host adapter of the evaluation core: matrices are <see cref="Matrix{T}"/>, products the SIMD GEMM,
/// scalars float64 values accumulated in float64.</summary>
internal sealed class CpuOps<T>(int scalarSlots) : IDeviceOps<T, Matrix<T>> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>The scalar slots; a path operator writes the loss into slot 0 directly.</summary>
    public double[] Scalars { get; } = new double[scalarSlots];

    public BackendKind Backend => BackendKind.Cpu;

    public Matrix<T> Allocate(int rows, int cols, string name) => new(rows, cols);

    public Matrix<T>[] AllocateStack(IReadOnlyList<(int Rows, int Cols)> shapes, string name) =>
        shapes.Select(s => new Matrix<T>(s.Rows, s.Cols)).ToArray();

    public void SetIdentity(Matrix<T> m)
    {
        m.Data.AsSpan().Clear();
        for (int i = 0; i < Math.Min(m.Rows, m.Cols); i++) m[i, i] = T.One;
    }

    public void UploadStack(IReadOnlyList<Matrix<double>> sources, Matrix<T>[] targets)
    {
        for (int i = 0; i < targets.Length; i++) Numerics.Convert<double, T>(sources[i].Data, targets[i].Data);
    }

    public Matrix<double>[] DownloadStack(Matrix<T>[] sources) => sources.Select(Numerics.ToDouble).ToArray();

    public void Gemm(Op opA, Op opB, T alpha, Matrix<T> a, Matrix<T> b, T beta, Matrix<T> c)
    {
        int k = opA == Op.None ? a.Cols : a.Rows;
        Kernels.Cpu.Gemm.Compute(opA, opB, c.Rows, c.Cols, k, alpha, a.Data, a.Cols, b.Data, b.Cols, beta, c.Data, c.Cols);
    }

    public void Copy(Matrix<T> source, Matrix<T> target) => source.Data.AsSpan().CopyTo(target.Data);

    public void Clear(Matrix<T> m) => m.Data.AsSpan().Clear();

    public void Dot(Matrix<T> x, Matrix<T> y, double alpha, int slot) => Scalars[slot] = alpha * Numerics.Dot<T>(x.Data, y.Data);

    public void ReadScalars(Span<double> scalars) => Scalars.AsSpan(0, scalars.Length).CopyTo(scalars);

    public void Dispose() { }
}
