using System.Runtime.CompilerServices;
using System.Numerics;
using Flatness.Kernels.Cpu;
using Flatness.Kernels.Tensors;
using Flatness.Solver.Backends.Cpu;
using Flatness.Solver.Problems;

namespace Flatness.Solver.Backends;

/// <summary>
/// The CPU evaluator in precision T (float or double) on one path: "direct", "gram" (dense measurements),
/// "completion" or "rank-one" (structured measurements). The problem is converted once to T and to the layouts
/// the path's kernels want; every buffer of an evaluation is allocated here, once, for the factorisation shape
/// <c>dims</c> = [d_0, .., d_L]; an evaluation allocates only the float64 gradients it returns.
/// <para>
/// One evaluation: the partial products Q_j = W_{j-1:1}, P_j = W_{L:j+1} (<see cref="Chains"/>, O(L) GEMMs),
/// the sandwiches and loss from the path, then, with Dp_j = 4 S(H_j) P_j and Dq_j = 4 Q_j S*(G_j)
/// (the derivatives of term_j = 2 &lt;G_j, S(H_j)&gt; in P_j and in Q_j, SPEC section 2):
/// term_j = &lt;Dp_j, P_j&gt; / 2 = &lt;Dq_j, Q_j&gt; / 2, and the trace gradient by the chain rule below.
/// </para>
/// <para>
/// Chain rule. P_j = W_{L:k+1} W_k W_{k-1:j+1} for j &lt; k and Q_j = W_{j-1:k+1} W_k Q_k for j &gt; k, so
/// d term_j / dW_k = P_k^T Dp_j W_{k-1:j+1}^T (j &lt; k) and W_{j-1:k+1}^T Dq_j Q_k^T (j &gt; k); W_k enters no other term
/// (P_k and Q_k do not contain it). Summing over j,
///   d tr H / dW_k = P_k^T R_k + F_k Q_k^T,  R_k = sum_{j&lt;k} Dp_j W_{k-1:j+1}^T (d_L x d_{k-1}),
///                                            F_k = sum_{j&gt;k} W_{j-1:k+1}^T Dq_j (d_k x d_0),
/// and since W_{k:j+1} = W_k W_{k-1:j+1}, the sums obey
///   R_1 = 0, R_{k+1} = R_k W_k^T + Dp_k;   F_L = 0, F_{k-1} = W_k^T F_k + Dq_k,
/// two sweeps of one GEMM per layer: O(L) products, not O(L^2). At the ends P_L = I (so the k = L gradient is R_L)
/// and Q_1 = I (the k = 1 gradient is F_1). The loss gradient P_k^T Z Q_k^T, Z = (2/n) sum_i r_i A_i, uses the same
/// sweep: Y_1 = Z, Y_{k+1} = Y_k W_k^T = Z Q_{k+1}^T, gradient P_k^T Y_k.
/// </para>
/// </summary>
public sealed class CpuEvaluator<T> : IEvaluator where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly PathOperator<T> _operator;
    private readonly int[] _dims;
    private readonly int _depth;
    private readonly SandwichPlan _plan;
    private readonly Matrix<T>[] _layers;
    private readonly Matrix<T>[] _prefix, _suffix;
    private readonly Matrix<T>[] _dp, _dq;   // index j = 1..L
    private readonly Matrix<T>[] _r;         // R_k, k = 2..L (d_L x d_{k-1}); reused for Y_k
    private readonly Matrix<T>[] _f;         // F_k, k = 1..L-1 (d_k x d_0)
    private readonly Matrix<T>[] _gradient;  // k = 1..L (d_k x d_{k-1})
    private readonly Matrix<T> _z;

    public CpuEvaluator(SensingProblem problem, IReadOnlyList<int> dims, string path)
    {
        ArgumentNullException.ThrowIfNull(problem);
        ArgumentNullException.ThrowIfNull(dims);
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double))
            throw new NotSupportedException($"the CPU evaluator runs in float or double, not {typeof(T).Name}");
        if (dims.Count < 2)
            throw new ArgumentException($"dims must list d_0..d_L for at least one layer, got {dims.Count} entries", nameof(dims));
        for (int j = 0; j < dims.Count; j++)
            if (dims[j] < 1) throw new ArgumentException($"dims[{j}] = {dims[j]} must be positive", nameof(dims));
        if (dims[0] != problem.InputDim || dims[^1] != problem.OutputDim)
            throw new ArgumentException(
                $"the factorisation maps {dims[0]} to {dims[^1]} but the problem's measurements are {problem.OutputDim}x{problem.InputDim} (d_L x d_0)", nameof(dims));

        Problem = problem;
        _dims = dims.ToArray();
        _depth = _dims.Length - 1;
        _operator = path switch
        {
            "direct" => new DirectOperator<T>(problem, _dims),
            "gram" => new GramPathOperator<T>(problem, _dims),
            "completion" => new CompletionPathOperator<T>(problem, _dims),
            "rank-one" => new RankOnePathOperator<T>(problem, _dims),
            _ => throw new ArgumentException($"unknown CPU path '{path}' (expected direct, gram, completion or rank-one)", nameof(path)),
        };

        int L = _depth, d0 = _dims[0], dL = _dims[L];
        _plan = new SandwichPlan(L);
        _layers = new Matrix<T>[L];
        _gradient = new Matrix<T>[L + 1];
        _dp = new Matrix<T>[L + 1];
        _dq = new Matrix<T>[L + 1];
        _r = new Matrix<T>[L + 1];
        _f = new Matrix<T>[L + 1];
        _prefix = new Matrix<T>[L + 1];
        _suffix = new Matrix<T>[L + 1];
        _prefix[0] = new Matrix<T>(d0, d0);
        _suffix[0] = new Matrix<T>(0, 0);
        for (int k = 1; k <= L; k++)
        {
            _layers[k - 1] = new Matrix<T>(_dims[k], _dims[k - 1]);
            _gradient[k] = new Matrix<T>(_dims[k], _dims[k - 1]);
            _prefix[k] = new Matrix<T>(_dims[k], d0);
            _suffix[k] = new Matrix<T>(dL, _dims[k]);
            _dp[k] = new Matrix<T>(dL, _dims[k]);
            _dq[k] = new Matrix<T>(_dims[k - 1], d0);
            _r[k] = new Matrix<T>(dL, _dims[k - 1]);
            _f[k] = new Matrix<T>(_dims[k], d0);
        }
        _z = new Matrix<T>(dL, d0);
    }

    public string Backend => "cpu";
    public string Path => _operator.Path;
    public string Precision => typeof(T) == typeof(float) ? "f32" : "f64";
    public SensingProblem Problem { get; }
    /// <summary>[d_0, .., d_L], the factorisation shape this evaluator is laid out for.</summary>
    public IReadOnlyList<int> Dims => _dims;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public Evaluation Evaluate(IReadOnlyList<Matrix<double>> layers, Quantities what)
    {
        ArgumentNullException.ThrowIfNull(layers);
        CheckLayers(layers);
        int L = _depth;
        bool loss = what.HasFlag(Quantities.Loss), lossGradient = what.HasFlag(Quantities.LossGradient);
        bool trace = what.HasFlag(Quantities.Trace), traceGradient = what.HasFlag(Quantities.TraceGradient);

        for (int k = 0; k < L; k++) Numerics.Convert<double, T>(layers[k].Data, _layers[k].Data);
        bool needSuffix = trace || traceGradient || lossGradient;
        Chains.Compute(_layers, _prefix, needSuffix ? _suffix : null);

        // Which sandwiches: Dp_j (j < L) and Dq_j (j > 1) for the gradient; for the trace alone, per layer the
        // cheaper of S(H_j) and S*(G_j), with the constants S(I) (j = 1) and S*(I) (j = L) free.
        _plan.Clear();
        _plan.Loss = loss || lossGradient;
        _plan.LossGradient = lossGradient;
        Span<bool> traceFromS = stackalloc bool[L + 1];
        for (int j = 1; j <= L; j++)
        {
            bool wantDp = traceGradient && j < L, wantDq = traceGradient && j > 1;
            traceFromS[j] = wantDp || (!wantDq && (j == 1 || (j < L && _operator.SFlops(j) <= _operator.SAdjointFlops(j))));
            bool useS = wantDp || (trace && traceFromS[j]);
            bool useSAdjoint = wantDq || (trace && !traceFromS[j]);
            _plan.S[j] = useS && j > 1;
            _plan.SAdjoint[j] = useSAdjoint && j < L;
        }
        double lossValue = _operator.Prepare(_plan, _prefix, _suffix, _z);

        T four = T.CreateTruncating(4);
        double traceValue = 0;
        for (int j = 1; j <= L; j++)
        {
            bool wantDp = traceGradient && j < L, wantDq = traceGradient && j > 1;
            if (wantDp || (trace && traceFromS[j]))
            {
                _operator.MultiplyS(j, _suffix[j], _dp[j], four);
                if (trace && traceFromS[j]) traceValue += 0.5 * Numerics.Dot<T>(_dp[j].Data, _suffix[j].Data);
            }
            if (wantDq || (trace && !traceFromS[j]))
            {
                _operator.MultiplySAdjoint(j, _prefix[j - 1], _dq[j], four);
                if (trace && !traceFromS[j]) traceValue += 0.5 * Numerics.Dot<T>(_dq[j].Data, _prefix[j - 1].Data);
            }
        }

        return new Evaluation
        {
            Loss = loss ? lossValue : double.NaN,
            Trace = trace ? traceValue : double.NaN,
            TraceGradient = traceGradient ? TraceGradient() : null,
            LossGradient = lossGradient ? LossGradient() : null,
        };
    }

    /// <summary>d tr H / dW_k = P_k^T R_k + F_k Q_k^T (see the class comment).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private Matrix<double>[] TraceGradient()
    {
        int L = _depth, d0 = _dims[0], dL = _dims[L];
        var result = new Matrix<double>[L];
        if (L == 1)
        {
            result[0] = new Matrix<double>(_dims[1], d0); // tr H does not depend on a single layer
            return result;
        }
        // R_2 = Dp_1, R_{k+1} = R_k W_k^T + Dp_k.
        _dp[1].Data.AsSpan().CopyTo(_r[2].Data);
        for (int k = 2; k < L; k++)
        {
            _dp[k].Data.AsSpan().CopyTo(_r[k + 1].Data);
            var w = _layers[k - 1];
            Gemm.Compute(Op.None, Op.Transpose, dL, _dims[k], _dims[k - 1], T.One, _r[k].Data, _dims[k - 1], w.Data, w.Cols, T.One, _r[k + 1].Data, _dims[k]);
        }
        // F_{L-1} = Dq_L, F_{k-1} = W_k^T F_k + Dq_k.
        _dq[L].Data.AsSpan().CopyTo(_f[L - 1].Data);
        for (int k = L - 1; k >= 2; k--)
        {
            _dq[k].Data.AsSpan().CopyTo(_f[k - 1].Data);
            var w = _layers[k - 1];
            Gemm.Compute(Op.Transpose, Op.None, _dims[k - 1], d0, _dims[k], T.One, w.Data, w.Cols, _f[k].Data, d0, T.One, _f[k - 1].Data, d0);
        }
        for (int k = 1; k <= L; k++)
        {
            var g = _gradient[k];
            if (k == 1) _f[1].Data.AsSpan().CopyTo(g.Data);                 // P_1^T R_1 = 0, Q_1 = I
            else if (k == L) _r[L].Data.AsSpan().CopyTo(g.Data);            // P_L = I, F_L = 0
            else
            {
                Gemm.Compute(Op.Transpose, Op.None, _dims[k], _dims[k - 1], dL, T.One, _suffix[k].Data, _dims[k], _r[k].Data, _dims[k - 1], T.Zero, g.Data, _dims[k - 1]);
                Gemm.Compute(Op.None, Op.Transpose, _dims[k], _dims[k - 1], d0, T.One, _f[k].Data, d0, _prefix[k - 1].Data, d0, T.One, g.Data, _dims[k - 1]);
            }
            result[k - 1] = Numerics.ToDouble(g);
        }
        return result;
    }

    /// <summary>dL/dW_k = P_k^T Z Q_k^T through Y_1 = Z, Y_{k+1} = Y_k W_k^T (Y_k = Z Q_k^T).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private Matrix<double>[] LossGradient()
    {
        int L = _depth, dL = _dims[L];
        var result = new Matrix<double>[L];
        for (int k = 1; k <= L; k++)
        {
            var y = k == 1 ? _z : _r[k];
            if (k > 1)
            {
                var previous = k == 2 ? _z : _r[k - 1];
                var w = _layers[k - 2];
                Gemm.Compute(Op.None, Op.Transpose, dL, _dims[k - 1], _dims[k - 2], T.One, previous.Data, _dims[k - 2], w.Data, w.Cols, T.Zero, y.Data, _dims[k - 1]);
            }
            var g = _gradient[k];
            if (k == L) y.Data.AsSpan().CopyTo(g.Data);
            else Gemm.Compute(Op.Transpose, Op.None, _dims[k], _dims[k - 1], dL, T.One, _suffix[k].Data, _dims[k], y.Data, _dims[k - 1], T.Zero, g.Data, _dims[k - 1]);
            result[k - 1] = Numerics.ToDouble(g);
        }
        return result;
    }

    private void CheckLayers(IReadOnlyList<Matrix<double>> layers)
    {
        if (layers.Count != _depth)
            throw new ArgumentException($"the evaluator is laid out for {_depth} layers, got {layers.Count}", nameof(layers));
        for (int k = 1; k <= _depth; k++)
        {
            var w = layers[k - 1];
            if (w.Rows != _dims[k] || w.Cols != _dims[k - 1])
                throw new ArgumentException($"W{k} is {w.Rows}x{w.Cols}, the evaluator expects {_dims[k]}x{_dims[k - 1]}", nameof(layers));
        }
    }

    public void Dispose() { }
}
