using System.Numerics;
using Flatness.Kernels.Cpu;
using Flatness.Kernels.Tensors;
using Flatness.Solver.Problems;

namespace Flatness.Solver.Backends.Core;

/// <summary>
/// The evaluation mathematics, written once for every device and path (docs/MATH.md sections 1-2; docs/DESIGN.md, "Notation").
/// <para><b>Notation and index rule</b> (the same in code, comments and docs). Layers W_j (d_j x d_{j-1}), j = 1..L;
/// W_{k:j} = W_k ... W_j; P_j = W_{L:j+1} (d_L x d_j), Q_j = W_{j-1:1} (d_{j-1} x d_0), so P_L = I, Q_1 = I and
/// E = P_j W_j Q_j = Q_{L+1}; G_j = P_j P_j^T, H_j = Q_j^T Q_j; Z = (2/n) sum_i r_i A_i. Inside the core every
/// array is indexed by the mathematical index (<c>W[j]</c> is W_j, <c>X[j]</c> is X_j; index 0 unused); at the public
/// seam lists are 0-based (<c>layers[j - 1]</c> is W_j).</para>
/// <para><b>Trace.</b> term_j = 2 &lt;G_j, S(H_j)&gt; = 2 &lt;H_j, S*(G_j)&gt; is the trace of layer j's Hessian block;
/// tr H = sum_j term_j. With X_j = 4 S(H_j) P_j and Y_j = 4 Q_j S*(G_j), the derivatives of term_j in P_j and Q_j,
/// term_j = &lt;X_j, P_j&gt; / 2 = &lt;Y_j, Q_j&gt; / 2.</para>
/// <para><b>Trace gradient</b>, O(L) products. W_k sits in P_j for j &lt; k and in Q_j for j &gt; k, so
///   d tr H / dW_k = P_k^T Xbar_k + Ybar_k Q_k^T,  Xbar_k = sum_{j&lt;k} X_j W_{k-1:j+1}^T (d_L x d_{k-1}),
///                                               Ybar_k = sum_{j&gt;k} W_{j-1:k+1}^T Y_j (d_k x d_0),
/// with Xbar_1 = 0, Xbar_{k+1} = Xbar_k W_k^T + X_k and Ybar_L = 0, Ybar_{k-1} = W_k^T Ybar_k + Y_k.</para>
/// <para><b>Loss gradient.</b> dL/dW_k = P_k^T ZQ_k with ZQ_k = Z Q_k^T: ZQ_1 = Z, ZQ_{k+1} = ZQ_k W_k^T.</para>
/// <para><b>Hessian-vector product</b> in direction V = (V_1..V_L): the directional derivative of the loss gradient,
///   (H V)_k = dP_k^T ZQ_k + P_k^T dZQ_k,   dZQ_k = d(Z Q_k^T) = dZ Q_k^T + Z dQ_k^T,
/// with dQ_2 = V_1, dQ_{k+1} = V_k Q_k + W_k dQ_k (so dE = dQ_{L+1} = sum_j P_j V_j Q_j); dP_{L-1} = V_L,
/// dP_{k-1} = dP_k W_k + P_k V_k; dZ = (2/n) sum_i &lt;A_i, dE&gt; A_i; and dZQ_1 = dZ, dZQ_{k+1} = dZQ_k W_k^T + ZQ_k V_k^T.
/// The Gauss-Newton part is the dZ term, the residual part the dP and dQ terms (zero at an interpolant, Z = 0).</para>
/// The device does the products (<see cref="IDeviceOps{T, TMatrix}"/>); the path supplies S, S*, the loss and Z
/// (<see cref="IPathOperator{T, TMatrix}"/>). Layers cross the seam in float64; the work is in T.
/// </summary>
internal sealed class Evaluator<T, TMatrix> : IEvaluator where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly IDeviceOps<T, TMatrix> _ops;
    private readonly IPathOperator<T, TMatrix> _path;
    private readonly PartialProducts<T, TMatrix> _products;
    private readonly SandwichPlan _plan;
    private readonly bool[] _traceFromS;
    private readonly TMatrix[] _x, _y;      // X_j (d_L x d_j), Y_j (d_{j-1} x d_0); overwritten in place by Xbar_{j+1}, Ybar_{j-1}
    private readonly TMatrix[] _zq;         // ZQ_k, k = 2..L
    private readonly TMatrix _z;
    private readonly TMatrix[] _lossGradient, _traceGradient; // index 0 is W_1
    private readonly double[] _scalars;    // slot 0 the loss, slot j the trace of layer j
    private readonly List<HvpBuffers> _hvp = []; // one per direction of the largest block of Hessian-vector products so far
    private double[]? _hvpPoint;           // the layers whose P_j, Q_j, Z and ZQ_k the device holds for products, or null
    private bool _disposed;

    /// <summary>Takes ownership of <paramref name="ops"/> and of the path operator that <paramref name="createPath"/> makes (disposed with the evaluator).</summary>
    public Evaluator(SensingProblem problem, IReadOnlyList<int> dims, IDeviceOps<T, TMatrix> ops,
        Func<IDeviceOps<T, TMatrix>, IPathOperator<T, TMatrix>> createPath)
    {
        LayerChecks.RequireDims(dims, problem);
        Problem = problem;
        _ops = ops;
        try
        {
            _products = new PartialProducts<T, TMatrix>(ops, dims);
            _path = createPath(ops);
            int depth = _products.Depth, d0 = dims[0], dL = dims[depth];
            _plan = new SandwichPlan(depth);
            _traceFromS = new bool[depth + 1];
            _x = new TMatrix[depth + 1];
            _y = new TMatrix[depth + 1];
            _zq = new TMatrix[depth + 1];
            for (int j = 1; j <= depth; j++)
            {
                _x[j] = ops.Allocate(dL, dims[j], $"X_{j}");
                _y[j] = ops.Allocate(dims[j - 1], d0, $"Y_{j}");
                if (j >= 2) _zq[j] = ops.Allocate(dL, dims[j - 1], $"ZQ_{j}");
            }
            _z = ops.Allocate(dL, d0, "Z");
            var shapes = Enumerable.Range(1, depth).Select(j => (dims[j], dims[j - 1])).ToArray();
            _lossGradient = ops.AllocateStack(shapes, "loss gradient");
            _traceGradient = ops.AllocateStack(shapes, "trace gradient");
            _scalars = new double[depth + 1];
        }
        catch
        {
            _path?.Dispose();
            ops.Dispose();
            throw;
        }
    }

    public BackendKind Backend => _ops.Backend;
    public EvaluationPath Path => _path.Path;
    public Precision Precision => typeof(T) == typeof(float) ? Precision.F32 : Precision.F64;
    public SensingProblem Problem { get; }
    /// <summary>[d_0, .., d_L], the factorisation shape this evaluator is laid out for.</summary>
    public IReadOnlyList<int> Dims => _products.Dims;

    public Evaluation Evaluate(IReadOnlyList<Matrix<double>> layers, Quantities what)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        LayerChecks.RequireShape(layers, _products.Dims);
        _hvpPoint = null; // the products below overwrite what Hessian-vector products keep
        int depth = _products.Depth;
        bool loss = what.HasFlag(Quantities.Loss), lossGradient = what.HasFlag(Quantities.LossGradient);
        bool trace = what.HasFlag(Quantities.Trace), traceGradient = what.HasFlag(Quantities.TraceGradient);
        _products.Compute(layers, withP: trace || traceGradient || lossGradient);

        PlanSandwiches(loss || lossGradient, lossGradient, trace, traceGradient);
        _path.Prepare(_plan, _products, _z);
        var p = _products.P;
        var q = _products.Q;
        T four = T.CreateTruncating(4);
        for (int j = 1; j <= depth; j++)
        {
            bool wantX = traceGradient && j < depth, wantY = traceGradient && j > 1;
            if (wantX || (trace && _traceFromS[j]))
            {
                _path.MultiplyS(j, p[j], _x[j], four);
                if (trace && _traceFromS[j]) _ops.Dot(_x[j], p[j], 0.5, j);
            }
            if (wantY || (trace && !_traceFromS[j]))
            {
                _path.MultiplySAdjoint(j, q[j], _y[j], four);
                if (trace && !_traceFromS[j]) _ops.Dot(_y[j], q[j], 0.5, j);
            }
        }
        if (traceGradient) TraceGradient();
        if (lossGradient) LossGradient();

        _ops.ReadScalars(_scalars);
        double[]? layerTraces = trace ? _scalars[1..] : null;
        return new Evaluation
        {
            Loss = loss ? _scalars[0] : double.NaN,
            Trace = trace ? layerTraces!.Sum() : double.NaN,
            LayerTraces = layerTraces,
            LossGradient = lossGradient ? _ops.DownloadStack(_lossGradient) : null,
            TraceGradient = traceGradient ? _ops.DownloadStack(_traceGradient) : null,
        };
    }

    /// <summary>Buffers of one Hessian-vector product: V_j, dE, dZ, dZQ_k (k = 2..L) and the result.</summary>
    private sealed record HvpBuffers(TMatrix[] Direction, TMatrix DE, TMatrix DZ, TMatrix[] DZQ, TMatrix[] Result);

    /// <summary>Buffers for <paramref name="count"/> products at once (allocated on first use, then kept).</summary>
    private IReadOnlyList<HvpBuffers> Hvp(int count)
    {
        var dims = _products.Dims;
        int depth = _products.Depth, d0 = dims[0], dL = dims[depth];
        var shapes = Enumerable.Range(1, depth).Select(j => (dims[j], dims[j - 1])).ToArray();
        while (_hvp.Count < count)
        {
            var dzq = new TMatrix[depth + 1];
            for (int k = 2; k <= depth; k++) dzq[k] = _ops.Allocate(dL, dims[k - 1], $"dZQ_{k}");
            _hvp.Add(new HvpBuffers(_ops.AllocateStack(shapes, "direction V"), _ops.Allocate(dL, d0, "dE"), _ops.Allocate(dL, d0, "dZ"),
                dzq, _ops.AllocateStack(shapes, "Hessian-vector product")));
        }
        return _hvp.GetRange(0, count);
    }

    public Matrix<double>[] HessianVectorProduct(IReadOnlyList<Matrix<double>> layers, IReadOnlyList<Matrix<double>> direction) =>
        HessianVectorProducts(layers, [direction])[0];

    /// <summary>Most products computed together (each needs its own buffers, kept for the evaluator's life).</summary>
    private const int MaxHvpBlock = 16;

    public Matrix<double>[][] HessianVectorProducts(IReadOnlyList<Matrix<double>> layers, IReadOnlyList<IReadOnlyList<Matrix<double>>> directions)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(directions);
        if (directions.Count > MaxHvpBlock)
            return directions.Chunk(MaxHvpBlock).SelectMany(block => HessianVectorProducts(layers, block)).ToArray();
        LayerChecks.RequireShape(layers, _products.Dims);
        foreach (var direction in directions) LayerChecks.RequireShape(direction, _products.Dims);
        if (directions.Count == 0) return [];
        int depth = _products.Depth;
        var block = Hvp(directions.Count);
        var w = _products.W;
        var p = _products.P;
        var q = _products.Q;
        var dP = _x;                              // dP_k in the X_k buffers (d_L x d_k), k = 1..L-1
        var dQ = _y;                              // dQ_k in the Y_k buffers (d_{k-1} x d_0), k = 2..L
        bool samePoint = SamePoint(layers);
        if (!samePoint)
        {
            _hvpPoint = null; // until the products below are complete
            // Products at one point share P_j, Q_j, Z and ZQ_k: computed once, kept until the point or an Evaluate changes them.
            _products.Compute(layers, withP: true);
            _plan.Clear();
            _plan.Loss = true;
            _plan.LossGradient = true;
            _path.Prepare(_plan, _products, _z);
            for (int k = 2; k <= depth; k++) _ops.Gemm(Op.None, Op.Transpose, T.One, k == 2 ? _z : _zq[k - 1], w[k - 1], T.Zero, _zq[k]);
            _hvpPoint = layers.SelectMany(m => m.Data).ToArray();
        }

        // Per direction, dQ_2 = V_1, dQ_{k+1} = V_k Q_k + W_k dQ_k; dE = dQ_{L+1}.
        for (int r = 0; r < block.Count; r++)
        {
            var b = block[r];
            var v = b.Direction;                  // v[j - 1] is V_j
            _ops.UploadStack(directions[r], v);
            for (int k = 1; k <= depth; k++)
            {
                var target = k == depth ? b.DE : dQ[k + 1];
                if (k == 1) _ops.Copy(v[0], target);
                else
                {
                    _ops.Gemm(Op.None, Op.None, T.One, v[k - 1], q[k], T.Zero, target);
                    _ops.Gemm(Op.None, Op.None, T.One, w[k], dQ[k], T.One, target);
                }
            }
        }
        // dZ = (2/n) sum_i <A_i, dE> A_i for the whole block at once (the Gram path reads K once for all of them).
        _path.ApplyNormal(block.Select(b => b.DE).ToArray(), block.Select(b => b.DZ).ToArray(), T.CreateTruncating(2.0 / Problem.Count));

        var results = new Matrix<double>[block.Count][];
        for (int r = 0; r < block.Count; r++)
        {
            var b = block[r];
            var v = b.Direction;
            // dP_{L-1} = V_L, dP_{k-1} = dP_k W_k + P_k V_k.
            for (int k = depth; k >= 2; k--)
            {
                if (k == depth) _ops.Copy(v[depth - 1], dP[depth - 1]);
                else
                {
                    _ops.Gemm(Op.None, Op.None, T.One, dP[k], w[k], T.Zero, dP[k - 1]);
                    _ops.Gemm(Op.None, Op.None, T.One, p[k], v[k - 1], T.One, dP[k - 1]);
                }
            }
            // dZQ_k beside the point's ZQ_k; (H V)_k = dP_k^T ZQ_k + P_k^T dZQ_k (P_L = I, dP_L = 0).
            for (int k = 1; k <= depth; k++)
            {
                var zq = k == 1 ? _z : _zq[k];
                var dzq = k == 1 ? b.DZ : b.DZQ[k];
                if (k > 1)
                {
                    var zqBefore = k == 2 ? _z : _zq[k - 1];
                    var dzqBefore = k == 2 ? b.DZ : b.DZQ[k - 1];
                    _ops.Gemm(Op.None, Op.Transpose, T.One, dzqBefore, w[k - 1], T.Zero, dzq);
                    _ops.Gemm(Op.None, Op.Transpose, T.One, zqBefore, v[k - 2], T.One, dzq);
                }
                var result = b.Result[k - 1];
                if (k == depth) _ops.Copy(dzq, result);
                else
                {
                    _ops.Gemm(Op.Transpose, Op.None, T.One, p[k], dzq, T.Zero, result);
                    _ops.Gemm(Op.Transpose, Op.None, T.One, dP[k], zq, T.One, result);
                }
            }
            results[r] = _ops.DownloadStack(b.Result);
        }
        return results;
    }

    /// <summary>Whether the device still holds the partial products and Z of exactly these layers.</summary>
    private bool SamePoint(IReadOnlyList<Matrix<double>> layers)
    {
        if (_hvpPoint is null) return false;
        int offset = 0;
        foreach (var m in layers)
        {
            if (!m.Data.AsSpan().SequenceEqual(_hvpPoint.AsSpan(offset, m.Data.Length))) return false;
            offset += m.Data.Length;
        }
        return true;
    }

    /// <summary>
    /// X_j (j &lt; L) and Y_j (j &gt; 1) for the gradient; for the trace alone, per layer the cheaper of S(H_j) and
    /// S*(G_j), with the constants S(I) (j = 1) and S*(I) (j = L) free.
    /// </summary>
    private void PlanSandwiches(bool loss, bool lossGradient, bool trace, bool traceGradient)
    {
        int depth = _products.Depth;
        _plan.Clear();
        _plan.Loss = loss;
        _plan.LossGradient = lossGradient;
        for (int j = 1; j <= depth; j++)
        {
            bool wantX = traceGradient && j < depth, wantY = traceGradient && j > 1;
            _traceFromS[j] = wantX || (!wantY && (j == 1 || (j < depth && _path.SFlops(j) <= _path.SAdjointFlops(j))));
            bool useS = wantX || (trace && _traceFromS[j]);
            bool useSAdjoint = wantY || (trace && !_traceFromS[j]);
            _plan.S[j] = useS && j > 1;
            _plan.SAdjoint[j] = useSAdjoint && j < depth;
        }
    }

    /// <summary>d tr H / dW_k = P_k^T Xbar_k + Ybar_k Q_k^T (see the class comment); X and Y are overwritten.</summary>
    private void TraceGradient()
    {
        int depth = _products.Depth;
        var w = _products.W;
        var p = _products.P;
        var q = _products.Q;
        var g = _traceGradient;
        if (depth == 1)
        {
            _ops.Clear(g[0]); // tr H does not depend on a single layer
            return;
        }
        // Xbar_{k+1} = X_k + Xbar_k W_k^T into X_k, from Xbar_2 = X_1: afterwards X_k holds Xbar_{k+1}.
        for (int k = 2; k <= depth - 1; k++) _ops.Gemm(Op.None, Op.Transpose, T.One, _x[k - 1], w[k], T.One, _x[k]);
        // Ybar_{k-1} = Y_k + W_k^T Ybar_k into Y_k, from Ybar_{L-1} = Y_L: afterwards Y_k holds Ybar_{k-1}.
        for (int k = depth - 1; k >= 2; k--) _ops.Gemm(Op.Transpose, Op.None, T.One, w[k], _y[k + 1], T.One, _y[k]);
        for (int k = 1; k <= depth; k++)
        {
            var gk = g[k - 1];
            if (k == 1) _ops.Copy(_y[2], gk);                  // Xbar_1 = 0, Q_1 = I: Ybar_1
            else if (k == depth) _ops.Copy(_x[depth - 1], gk); // P_L = I, Ybar_L = 0: Xbar_L
            else
            {
                _ops.Gemm(Op.Transpose, Op.None, T.One, p[k], _x[k - 1], T.Zero, gk);
                _ops.Gemm(Op.None, Op.Transpose, T.One, _y[k + 1], q[k], T.One, gk);
            }
        }
    }

    /// <summary>dL/dW_k = P_k^T ZQ_k, ZQ_1 = Z, ZQ_{k+1} = ZQ_k W_k^T.</summary>
    private void LossGradient()
    {
        int depth = _products.Depth;
        var w = _products.W;
        var p = _products.P;
        for (int k = 1; k <= depth; k++)
        {
            var zq = k == 1 ? _z : _zq[k];
            if (k > 1) _ops.Gemm(Op.None, Op.Transpose, T.One, k == 2 ? _z : _zq[k - 1], w[k - 1], T.Zero, zq);
            if (k == depth) _ops.Copy(zq, _lossGradient[k - 1]);
            else _ops.Gemm(Op.Transpose, Op.None, T.One, p[k], zq, T.Zero, _lossGradient[k - 1]);
        }
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _path.Dispose();
        _ops.Dispose();
    }
}
