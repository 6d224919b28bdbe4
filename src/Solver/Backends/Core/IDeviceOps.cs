using System.Numerics;
using Flatness.Kernels.Cpu;
using Flatness.Kernels.Tensors;

namespace Flatness.Solver.Backends.Core;

/// <summary>
/// The few device operations the evaluation core needs, on matrices of type <typeparamref name="TMatrix"/> holding
/// elements of type <typeparamref name="T"/> (host <c>Matrix&lt;T&gt;</c>, or views of GPU buffers). Every matrix is
/// dense row-major. Scalars (the loss and the per-layer traces) live in slots on the device and are read once per
/// evaluation with <see cref="ReadScalars"/>.
/// </summary>
internal interface IDeviceOps<T, TMatrix> : IDisposable where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>What ran, for <see cref="IEvaluator.Backend"/>.</summary>
    BackendKind Backend { get; }

    /// <summary>A zeroed rows x cols matrix on the device.</summary>
    TMatrix Allocate(int rows, int cols, string name);

    /// <summary>Matrices of the given shapes in one buffer, so a set of layers moves in one transfer.</summary>
    TMatrix[] AllocateStack(IReadOnlyList<(int Rows, int Cols)> shapes, string name);

    /// <summary>Sets <paramref name="m"/> to the identity (square).</summary>
    void SetIdentity(TMatrix m);

    /// <summary>targets[i] = sources[i] converted to T; targets come from one <see cref="AllocateStack"/>.</summary>
    void UploadStack(IReadOnlyList<Matrix<double>> sources, TMatrix[] targets);

    /// <summary>The matrices of one <see cref="AllocateStack"/>, converted to float64.</summary>
    Matrix<double>[] DownloadStack(TMatrix[] sources);

    /// <summary>c = alpha op(a) op(b) + beta c (beta = 0 never reads c).</summary>
    void Gemm(Op opA, Op opB, T alpha, TMatrix a, TMatrix b, T beta, TMatrix c);

    /// <summary>target = source (same shape).</summary>
    void Copy(TMatrix source, TMatrix target);

    /// <summary>m = 0.</summary>
    void Clear(TMatrix m);

    /// <summary>Scalar slot <paramref name="slot"/> = alpha &lt;x, y&gt; (Frobenius inner product, same shapes).</summary>
    void Dot(TMatrix x, TMatrix y, double alpha, int slot);

    /// <summary>Copies the scalar slots to the host (the one synchronisation of an evaluation).</summary>
    void ReadScalars(Span<double> scalars);
}
