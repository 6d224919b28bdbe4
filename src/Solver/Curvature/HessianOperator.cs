using System.Numerics.Tensors;
using Flatness.Kernels.Tensors;
using Flatness.Solver.Backends;

namespace Flatness.Solver.Curvature;

/// <summary>
/// The loss Hessian at one point as a linear operator on flat parameter vectors (W_1 row-major, then W_2, ...),
/// applied exactly through <see cref="IEvaluator.HessianVectorProduct"/> (one vector) or
/// <see cref="IEvaluator.HessianVectorProducts"/> (a block). Counts its products.
/// </summary>
public sealed class HessianOperator
{
    private readonly IEvaluator _evaluator;
    private readonly Matrix<double>[] _layers;
    private readonly Matrix<double>[] _direction;

    /// <summary>The Hessian of <paramref name="evaluator"/>'s loss at <paramref name="layers"/> (copied).</summary>
    public HessianOperator(IEvaluator evaluator, IReadOnlyList<Matrix<double>> layers)
    {
        ArgumentNullException.ThrowIfNull(evaluator);
        LayerChecks.RequireMatches(layers, evaluator.Problem);
        _evaluator = evaluator;
        _layers = layers.Select(w => w.Clone()).ToArray();
        _direction = layers.Select(w => new Matrix<double>(w.Rows, w.Cols)).ToArray();
        Dimension = layers.Sum(w => w.Length);
    }

    /// <summary>The number of parameters (the operator is Dimension x Dimension).</summary>
    public int Dimension { get; }

    /// <summary>Hessian-vector products computed so far.</summary>
    public long Matvecs { get; private set; }

    /// <summary>The point, W_1..W_L.</summary>
    public IReadOnlyList<Matrix<double>> Layers => _layers;

    /// <summary>hv = H v.</summary>
    public void Apply(ReadOnlySpan<double> v, Span<double> hv)
    {
        if (v.Length != Dimension || hv.Length != Dimension)
            throw new ArgumentException($"the Hessian acts on vectors of {Dimension} parameters, got {v.Length} and {hv.Length}");
        Unflatten(v, _direction);
        var product = _evaluator.HessianVectorProduct(_layers, _direction);
        Matvecs++;
        Flatten(product, hv);
    }

    /// <summary>Most products handed to the evaluator at once by <see cref="Apply(IReadOnlyList{double[]}, IReadOnlyList{double[]}, CancellationToken)"/>.</summary>
    public const int MaxBlock = 16;

    /// <summary>
    /// products[r] = H vectors[r] for every r, handed to the evaluator in blocks of up to <see cref="MaxBlock"/> (the CPU
    /// Gram path reads K from memory once per block). The values of one <see cref="Apply(ReadOnlySpan{double}, Span{double})"/>
    /// each, up to rounding; <paramref name="cancellation"/> is checked before every block.
    /// </summary>
    public void Apply(IReadOnlyList<double[]> vectors, IReadOnlyList<double[]> products, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(vectors);
        ArgumentNullException.ThrowIfNull(products);
        if (vectors.Count != products.Count)
            throw new ArgumentException($"{vectors.Count} vectors but {products.Count} products");
        for (int r = 0; r < vectors.Count; r++)
            if (vectors[r].Length != Dimension || products[r].Length != Dimension)
                throw new ArgumentException($"the Hessian acts on vectors of {Dimension} parameters, got {vectors[r].Length} and {products[r].Length} (pair {r})");
        for (int first = 0; first < vectors.Count; first += MaxBlock)
        {
            cancellation.ThrowIfCancellationRequested();
            int count = Math.Min(MaxBlock, vectors.Count - first);
            var directions = new IReadOnlyList<Matrix<double>>[count];
            for (int r = 0; r < count; r++) directions[r] = Unflatten(vectors[first + r]);
            var block = _evaluator.HessianVectorProducts(_layers, directions);
            Matvecs += count;
            for (int r = 0; r < count; r++) Flatten(block[r], products[first + r]);
        }
    }

    /// <summary>The Hessian as a dense Dimension x Dimension matrix (Dimension products with the unit vectors, in blocks).</summary>
    public Matrix<double> Assemble(CancellationToken cancellation = default)
    {
        var h = new Matrix<double>(Dimension, Dimension);
        for (int first = 0; first < Dimension; first += MaxBlock)
        {
            cancellation.ThrowIfCancellationRequested();
            int count = Math.Min(MaxBlock, Dimension - first);
            var units = new double[count][];
            var rows = new double[count][];
            for (int r = 0; r < count; r++)
            {
                units[r] = new double[Dimension];
                units[r][first + r] = 1;
                rows[r] = new double[Dimension];
            }
            Apply(units, rows, cancellation);
            for (int r = 0; r < count; r++) rows[r].CopyTo(h.Row(first + r));
        }
        return h;
    }

    /// <summary>The layers' entries one after another (W_1 row-major first).</summary>
    public static void Flatten(IReadOnlyList<Matrix<double>> layers, Span<double> target)
    {
        int offset = 0;
        foreach (var w in layers)
        {
            w.Data.CopyTo(target[offset..]);
            offset += w.Length;
        }
    }

    /// <summary>The flat vector cut into matrices of the layers' shapes.</summary>
    public Matrix<double>[] Unflatten(ReadOnlySpan<double> v)
    {
        var result = _layers.Select(w => new Matrix<double>(w.Rows, w.Cols)).ToArray();
        Unflatten(v, result);
        return result;
    }

    private static void Unflatten(ReadOnlySpan<double> v, Matrix<double>[] target)
    {
        int offset = 0;
        foreach (var w in target)
        {
            v.Slice(offset, w.Length).CopyTo(w.Data);
            offset += w.Length;
        }
    }

    /// <summary>The index range of layer j's parameters (index 0 is W_1) in a flat vector.</summary>
    public Range LayerRange(int j)
    {
        int start = 0;
        for (int k = 0; k < j; k++) start += _layers[k].Length;
        return new Range(start, start + _layers[j].Length);
    }

    internal static double Dot(ReadOnlySpan<double> x, ReadOnlySpan<double> y) => TensorPrimitives.Dot(x, y);
}
