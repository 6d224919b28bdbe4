using System.Numerics;
using Flatness.Kernels.Cpu;
using Flatness.Kernels.Gpu;
using Flatness.Kernels.Tensors;
using Flatness.Solver.Problems;

namespace Flatness.Solver.Backends;

/// <summary>How a GPU evaluator computes the sandwich operators S and S* (SPEC section 3).</summary>
public enum GpuPath { Direct, Gram, Completion, RankOne }

/// <summary>
/// Loss, exact Hessian trace and their gradients on an ILGPU accelerator (SPEC sections 1-3). The problem data go up
/// once and stay resident; per step only the layers go up and the gradients and scalars come down.
/// Internal precision <typeparamref name="T"/>; the seam is float64.
/// <para>Per step, with P_j = W_{L:j+1} and Q_j = W_{j-1:1} (all prefix and suffix products, 2L small GEMMs):
/// the loss uses the direct residual r = A(E) - b (exact near interpolation, where a Gram-form loss cancels);
/// each layer contributes tr_j = 2 &lt;G_j, S(H_j)&gt;, X_j = 4 S(H_j) P_j and Y_j = 4 Q_j S*(G_j) from the path's
/// operators; the chain rule then runs two O(L) recurrences, U_{k+1} = X_k + U_k W_k^T and
/// V_k = Y_{k+1} + W_{k+1}^T V_{k+1}, giving d tr / dW_k = P_k^T U_k + V_k Q_k^T.</para>
/// </summary>
internal sealed class GpuEvaluator<T> : IEvaluator where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly GpuContext _context;
    private readonly GpuOps<T> _ops;
    private readonly GpuPath _path;
    private readonly int _n, _dl, _d0;
    private readonly List<IDisposable> _resident = new();
    private readonly DeviceArray<T> _labels;
    private readonly DeviceArray<T>? _a;          // dense A_i stacked (n, d_L, d_0)
    private readonly DeviceArray<T>? _gram;       // K (d_L^2 x d_0^2)
    private readonly DeviceArray<int>? _rows, _cols, _cellStart, _cellOrder;
    private readonly DeviceArray<T>? _cellWeights; // completion: (s^2/n) counts per cell (d_L x d_0)
    private readonly T _completionScale;
    private readonly DeviceArray<T>? _u, _v;      // rank-one factors (n x d_L), (n x d_0)
    private StepBuffers? _step;
    private bool _disposed;

    public GpuEvaluator(GpuContext context, SensingProblem problem, GpuPath path)
    {
        _context = context;
        Problem = problem;
        _path = path;
        var m = problem.Measurements;
        _n = m.Count; _dl = m.OutputDim; _d0 = m.InputDim;
        if (path == GpuPath.Completion && m is not CompletionMeasurements)
            throw new ArgumentException($"the completion path needs matrix-completion measurements, the problem has {m.Kind}", nameof(path));
        if (path == GpuPath.RankOne && m is not RankOneMeasurements)
            throw new ArgumentException($"the rank-one path needs rank-one measurements, the problem has {m.Kind}", nameof(path));

        _ops = context.Ops<T>();
        try
        {
            _labels = Keep(_ops.Upload(Convert(problem.Labels), "labels b"));
            switch (path)
            {
                case GpuPath.Direct:
                case GpuPath.Gram:
                    _a = Keep(_ops.Upload(Convert(DenseStack(m)), "measurements A"));
                    if (path == GpuPath.Gram)
                    {
                        long width = (long)_dl * _d0;
                        _gram = Keep(_ops.Allocate(width * width, "Gram operator K"));
                        _ops.BuildGram(_a, _n, _dl, _d0, _gram);
                    }
                    break;
                case GpuPath.Completion:
                    var c = (CompletionMeasurements)m;
                    _rows = Keep(_ops.UploadIndices(c.RowIndex, "completion rows"));
                    _cols = Keep(_ops.UploadIndices(c.ColIndex, "completion columns"));
                    var (start, order, weights) = CompletionCells(c);
                    _cellStart = Keep(_ops.UploadIndices(start, "completion cell starts"));
                    _cellOrder = Keep(_ops.UploadIndices(order, "completion cell order"));
                    _cellWeights = Keep(_ops.Upload(Convert(weights), "completion cell weights"));
                    _completionScale = T.CreateChecked(c.Scale);
                    break;
                case GpuPath.RankOne:
                    var r = (RankOneMeasurements)m;
                    _u = Keep(_ops.Upload(Convert(r.U), "rank-one U"));
                    _v = Keep(_ops.Upload(Convert(r.V), "rank-one V"));
                    break;
            }
            _context.Synchronize();
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string Backend => _context.BackendName;
    public string Path => _path switch
    {
        GpuPath.Direct => "direct",
        GpuPath.Gram => "gram",
        GpuPath.Completion => "completion",
        _ => "rank-one",
    };
    public string Precision => typeof(T) == typeof(float) ? "f32" : "f64";
    public SensingProblem Problem { get; }

    /// <summary>Measurements per block in the direct path (bounds the scratch memory); null picks from the device.</summary>
    internal int? DirectChunkOverride { get; set; }

    private TBuf Keep<TBuf>(TBuf buffer) where TBuf : IDisposable
    {
        _resident.Add(buffer);
        return buffer;
    }

    private static T[] Convert(ReadOnlySpan<double> x)
    {
        var y = new T[x.Length];
        for (int i = 0; i < x.Length; i++) y[i] = T.CreateTruncating(x[i]);
        return y;
    }

    private static double[] DenseStack(Measurements m)
    {
        if (m is DenseMeasurements dense) return dense.A;
        int size = m.OutputDim * m.InputDim;
        var a = new double[(long)m.Count * size];
        for (int i = 0; i < m.Count; i++) m.Dense(i).Data.CopyTo(a, (long)i * size);
        return a;
    }

    /// <summary>Groups completion measurements by observed cell (CSR) and the per-cell weights (s^2/n) * count.</summary>
    private static (int[] Start, int[] Order, double[] Weights) CompletionCells(CompletionMeasurements c)
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

    // ------------------------------------------------------------------ per-step buffers

    /// <summary>Device buffers for one set of layer shapes, kept while the shapes stay the same.</summary>
    private sealed class StepBuffers : IDisposable
    {
        public required int[] Dims;
        public required long[] LayerOffset, QOffset, POffset, GradOffset, XOffset, YOffset;
        public required DeviceArray<T> Layers, Q, P, LossGrad, TraceGrad, X, Y, Scalars;
        public required DeviceArray<T> F, R, Z, Tmp;
        public required DeviceArray<T> S, SAdj, G, H;     // per layer: S_j (d_L^2), S*_j (d_0^2), G_j (d_L^2), H_j (d_0^2)
        public required DeviceArray<T>? Scratch1, Scratch2, VecA, VecB;
        public int Chunk;
        public T[] Staging = [];

        public void Dispose()
        {
            foreach (var b in new IDisposable?[] { Layers, Q, P, LossGrad, TraceGrad, X, Y, Scalars, F, R, Z, Tmp, S, SAdj, G, H, Scratch1, Scratch2, VecA, VecB })
                b?.Dispose();
        }
    }

    private StepBuffers Buffers(int[] dims)
    {
        if (_step is not null && _step.Dims.AsSpan().SequenceEqual(dims)) return _step;
        _step?.Dispose();
        _step = null;
        int l = dims.Length - 1;
        int maxD = dims.Max();
        long[] layerOff = new long[l + 1], xOff = new long[l + 1], yOff = new long[l + 1];
        for (int j = 0; j < l; j++) layerOff[j + 1] = layerOff[j] + (long)dims[j + 1] * dims[j];
        var qStart = new long[l + 2];
        long acc = 0;
        for (int j = 1; j <= l + 1; j++) { qStart[j] = acc; acc += (long)dims[j - 1] * _d0; }
        long qTotal = acc;
        var pStart = new long[l + 1];
        acc = 0;
        for (int j = 0; j <= l; j++) { pStart[j] = acc; acc += (long)_dl * dims[j]; }
        long pTotal = acc;
        acc = 0;
        for (int j = 1; j <= l; j++) { xOff[j] = acc; acc += (long)_dl * dims[j]; }
        long xTotal = acc;
        acc = 0;
        for (int j = 1; j <= l; j++) { yOff[j] = acc; acc += (long)dims[j - 1] * _d0; }
        long yTotal = acc;

        var created = new List<IDisposable>();
        DeviceArray<T> New(long length, string name)
        {
            var b = _ops.Allocate(length, name);
            created.Add(b);
            return b;
        }
        try
        {
            int chunk = 0;
            DeviceArray<T>? s1 = null, s2 = null, va = null, vb = null;
            if (_path == GpuPath.Direct)
            {
                long perMeasurement = (long)_dl * maxD + (long)maxD * _d0;
                chunk = DirectChunkOverride ?? (int)Math.Clamp(ScratchBudget() / perMeasurement, 1, _n);
                chunk = Math.Clamp(chunk, 1, _n);
                s1 = New((long)chunk * _dl * maxD, "direct scratch A_i Q^T");
                s2 = New((long)chunk * maxD * _d0, "direct scratch P^T A_i");
            }
            else if (_path == GpuPath.RankOne)
            {
                s1 = New((long)_n * maxD, "rank-one U P");
                s2 = New((long)_n * maxD, "rank-one V Q^T");
                va = New((long)_n * maxD, "rank-one scaled rows");
                vb = New(3L * _n, "rank-one row norms");
            }
            else if (_path == GpuPath.Completion)
            {
                va = New(2L * (_dl + _d0), "completion diagonals");
            }
            var buffers = new StepBuffers
            {
                Dims = (int[])dims.Clone(),
                LayerOffset = layerOff, QOffset = qStart, POffset = pStart, GradOffset = layerOff, XOffset = xOff, YOffset = yOff,
                Layers = New(layerOff[l], "layers"),
                Q = New(qTotal, "prefix products Q_j"),
                P = New(pTotal, "suffix products P_j"),
                LossGrad = New(layerOff[l], "loss gradient"),
                TraceGrad = New(layerOff[l], "trace gradient"),
                X = New(xTotal, "X_j = d tr_j / d P_j"),
                Y = New(yTotal, "Y_j = d tr_j / d Q_j"),
                Scalars = New(1 + l, "loss and per-layer traces"),
                F = New(_n, "forward f"),
                R = New(_n, "residual r"),
                Z = New((long)_dl * _d0, "adjoint Z"),
                Tmp = New((long)maxD * Math.Max(_d0, _dl) + (long)maxD * maxD, "temporary"),
                S = New((long)l * _dl * _dl, "S(H_j)"),
                SAdj = New((long)l * _d0 * _d0, "S*(G_j)"),
                G = New((long)l * _dl * _dl, "G_j = P_j P_j^T"),
                H = New(_path == GpuPath.Gram ? (long)l * _d0 * _d0 : 0, "H_j = Q_j^T Q_j"),
                Scratch1 = s1, Scratch2 = s2, VecA = va, VecB = vb,
                Chunk = chunk,
            };
            // The empty products: Q_1 = I_{d_0} and P_L = I_{d_L} never change.
            buffers.Q.Upload(Identity(_d0), qStart[1]);
            buffers.P.Upload(Identity(_dl), pStart[l]);
            _step = buffers;
            return buffers;
        }
        catch
        {
            foreach (var b in created) b.Dispose();
            throw;
        }
    }

    private long ScratchBudget()
    {
        long bytes = _context.Info.MemoryBytes;
        long elements = _context.Kind == GpuKind.Cpu ? 1L << 24 : bytes / 4 / System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        return Math.Clamp(elements, 1L << 20, 1L << 31);
    }

    private static T[] Identity(int d)
    {
        var x = new T[d * d];
        for (int i = 0; i < d; i++) x[i * d + i] = T.One;
        return x;
    }

    // ------------------------------------------------------------------ evaluation

    public Evaluation Evaluate(IReadOnlyList<Matrix<double>> layers, Quantities what)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var dims = CheckLayers(layers);
        int l = layers.Count;
        var b = Buffers(dims);
        bool needLoss = (what & (Quantities.Loss | Quantities.LossGradient)) != 0;
        bool needTrace = (what & (Quantities.Trace | Quantities.TraceGradient)) != 0;
        bool lossGrad = (what & Quantities.LossGradient) != 0;
        bool traceGrad = (what & Quantities.TraceGradient) != 0;

        // Layers up (one transfer).
        if (b.Staging.Length != b.Layers.Length) b.Staging = new T[b.Layers.Length];
        for (int j = 0; j < l; j++)
        {
            var src = layers[j].Data;
            long off = b.LayerOffset[j];
            for (int t = 0; t < src.Length; t++) b.Staging[off + t] = T.CreateTruncating(src[t]);
        }
        b.Layers.Upload(b.Staging);

        // Prefix Q_{j+1} = W_j Q_j and suffix P_{j-1} = P_j W_j.
        for (int j = 1; j <= l; j++)
            _ops.Gemm(Op.None, Op.None, T.One, W(b, j), Q(b, j), T.Zero, Q(b, j + 1));
        for (int j = l; j >= 1; j--)
            _ops.Gemm(Op.None, Op.None, T.One, P(b, j), W(b, j), T.Zero, P(b, j - 1));

        if (needLoss) Loss(b, lossGrad);
        if (needTrace) Trace(b, traceGrad);

        var scalars = new T[1 + l];
        b.Scalars.Download(scalars);
        double trace = 0;
        for (int j = 1; j <= l; j++) trace += double.CreateChecked(scalars[j]);
        return new Evaluation
        {
            Loss = (what & Quantities.Loss) != 0 ? double.CreateChecked(scalars[0]) : double.NaN,
            Trace = (what & Quantities.Trace) != 0 ? trace : double.NaN,
            LossGradient = lossGrad ? DownloadLayers(b, b.LossGrad) : null,
            TraceGradient = traceGrad ? DownloadLayers(b, b.TraceGrad) : null,
        };
    }

    private int[] CheckLayers(IReadOnlyList<Matrix<double>> layers)
    {
        LayerChecks.RequireMatches(layers, Problem);
        var dims = new int[layers.Count + 1];
        dims[0] = layers[0].Cols;
        for (int j = 0; j < layers.Count; j++) dims[j + 1] = layers[j].Rows;
        return dims;
    }

    private Matrix<double>[] DownloadLayers(StepBuffers b, DeviceArray<T> grad)
    {
        var host = grad.ToArray();
        var result = new Matrix<double>[b.Dims.Length - 1];
        for (int j = 0; j < result.Length; j++)
        {
            var m = new Matrix<double>(b.Dims[j + 1], b.Dims[j]);
            long off = b.LayerOffset[j];
            for (int t = 0; t < m.Data.Length; t++) m.Data[t] = double.CreateChecked(host[off + t]);
            result[j] = m;
        }
        return result;
    }

    // Views: W_j (d_j x d_{j-1}), Q_j (d_{j-1} x d_0, j = 1..L+1), P_j (d_L x d_j, j = 0..L), X_j (d_L x d_j), Y_j (d_{j-1} x d_0).
    private static DeviceMatrix<T> W(StepBuffers b, int j) => new(b.Layers, b.LayerOffset[j - 1], b.Dims[j], b.Dims[j - 1], b.Dims[j - 1]);
    private DeviceMatrix<T> Q(StepBuffers b, int j) => new(b.Q, b.QOffset[j], b.Dims[j - 1], _d0, _d0);
    private DeviceMatrix<T> P(StepBuffers b, int j) => new(b.P, b.POffset[j], _dl, b.Dims[j], b.Dims[j]);
    private DeviceMatrix<T> X(StepBuffers b, int j) => new(b.X, b.XOffset[j], _dl, b.Dims[j], b.Dims[j]);
    private DeviceMatrix<T> Y(StepBuffers b, int j) => new(b.Y, b.YOffset[j], b.Dims[j - 1], _d0, _d0);
    private static DeviceMatrix<T> Grad(StepBuffers b, DeviceArray<T> g, int j) => new(g, b.LayerOffset[j - 1], b.Dims[j], b.Dims[j - 1], b.Dims[j - 1]);
    private static DeviceMatrix<T> Square(DeviceArray<T> buffer, int j, int d) => new(buffer, (long)(j - 1) * d * d, d, d, d);
    private DeviceMatrix<T> E(StepBuffers b) => Q(b, b.Dims.Length);
    private static T Real(double x) => T.CreateChecked(x);

    private void Loss(StepBuffers b, bool gradient)
    {
        var e = E(b);
        var f = new DeviceMatrix<T>(b.F, 0, _n, 1, 1);
        var flatE = new DeviceMatrix<T>(b.Q, e.Offset, 1, _dl * _d0, _dl * _d0);
        switch (_path)
        {
            case GpuPath.Direct:
            case GpuPath.Gram:
                _ops.Gemm(Op.None, Op.Transpose, T.One, new DeviceMatrix<T>(_a!, 0, _n, _dl * _d0, _dl * _d0), flatE, T.Zero, f);
                break;
            case GpuPath.Completion:
                _ops.Gather(e, _rows!, _cols!, _completionScale, b.F);
                break;
            case GpuPath.RankOne:
                var tv = new DeviceMatrix<T>(b.Scratch1!, 0, _n, _dl, _dl);
                _ops.Gemm(Op.None, Op.Transpose, T.One, new DeviceMatrix<T>(_v!, _n, _d0), e, T.Zero, tv);
                _ops.RowDots(new DeviceMatrix<T>(_u!, _n, _dl), tv, T.One, b.F, 0);
                break;
        }
        _ops.Axpby(T.One, b.F, -T.One, _labels, b.R, _n);
        T invN = T.One / T.CreateChecked(_n);
        _ops.Dot(b.R, 0, b.R, 0, _n, invN, b.Scalars, 0);
        if (!gradient) return;

        // Z = (2/n) sum_i r_i A_i, then dL/dW_k = P_k^T Z Q_k^T.
        T twoOverN = Real(2.0) * invN;
        var z = new DeviceMatrix<T>(b.Z, 0, _dl, _d0, _d0);
        switch (_path)
        {
            case GpuPath.Direct:
            case GpuPath.Gram:
                _ops.Gemm(Op.Transpose, Op.None, twoOverN, new DeviceMatrix<T>(b.R, 0, _n, 1, 1),
                    new DeviceMatrix<T>(_a!, 0, _n, _dl * _d0, _dl * _d0), T.Zero, new DeviceMatrix<T>(b.Z, 0, 1, _dl * _d0, _dl * _d0));
                break;
            case GpuPath.Completion:
                _ops.CellSums(_cellStart!, _cellOrder!, b.R, twoOverN * _completionScale, b.Z);
                break;
            case GpuPath.RankOne:
                var rv = new DeviceMatrix<T>(b.Scratch2!, 0, _n, _d0, _d0);
                _ops.ScaleRows(new DeviceMatrix<T>(_v!, _n, _d0), b.R, 0, T.One, rv);
                _ops.Gemm(Op.Transpose, Op.None, twoOverN, new DeviceMatrix<T>(_u!, _n, _dl), rv, T.Zero, z);
                break;
        }
        int l = b.Dims.Length - 1;
        for (int k = 1; k <= l; k++)
        {
            int dk = b.Dims[k];
            var t1 = new DeviceMatrix<T>(b.Tmp, 0, dk, _d0, _d0);
            _ops.Gemm(Op.Transpose, Op.None, T.One, P(b, k), z, T.Zero, t1);
            _ops.Gemm(Op.None, Op.Transpose, T.One, t1, Q(b, k), T.Zero, Grad(b, b.LossGrad, k));
        }
    }

    private void Trace(StepBuffers b, bool gradient)
    {
        int l = b.Dims.Length - 1;
        T invN = T.One / T.CreateChecked(_n);
        switch (_path)
        {
            case GpuPath.Direct:
            case GpuPath.Gram:
                if (_path == GpuPath.Direct) DirectSandwiches(b, gradient);
                else GramSandwiches(b, gradient);
                for (int j = 1; j <= l; j++)
                {
                    var g = Square(b.G, j, _dl);
                    var s = Square(b.S, j, _dl);
                    if (_path == GpuPath.Direct) _ops.Gemm(Op.None, Op.Transpose, T.One, P(b, j), P(b, j), T.Zero, g);
                    _ops.Dot(b.G, g.Offset, b.S, s.Offset, (long)_dl * _dl, Real(2), b.Scalars, j);
                    if (!gradient) continue;
                    _ops.Gemm(Op.None, Op.None, Real(4), s, P(b, j), T.Zero, X(b, j));
                    _ops.Gemm(Op.None, Op.None, Real(4), Q(b, j), Square(b.SAdj, j, _d0), T.Zero, Y(b, j));
                }
                break;
            case GpuPath.Completion:
                CompletionLayers(b, gradient);
                break;
            case GpuPath.RankOne:
                RankOneLayers(b, gradient, invN);
                break;
        }
        if (gradient) ChainRule(b);
    }

    /// <summary>S(H_j) = (1/n) sum_i B_i B_i^T with B_i = A_i Q_j^T, and S*(G_j) = (1/n) sum_i D_i^T D_i with
    /// D_i = P_j^T A_i, over blocks of measurements: every product is one launch over the whole block.</summary>
    private void DirectSandwiches(StepBuffers b, bool gradient)
    {
        int l = b.Dims.Length - 1;
        T invN = T.One / T.CreateChecked(_n);
        long aSize = (long)_dl * _d0;
        for (int j = 1; j <= l; j++)
        {
            int wq = b.Dims[j - 1], wp = b.Dims[j];
            var s = Square(b.S, j, _dl);
            var sAdj = Square(b.SAdj, j, _d0);
            for (int i0 = 0; i0 < _n; i0 += b.Chunk)
            {
                int c = Math.Min(b.Chunk, _n - i0);
                T beta = i0 == 0 ? T.Zero : T.One;
                var aBlock = new DeviceMatrix<T>(_a!, i0 * aSize, c * _dl, _d0, _d0);
                var bBlock = new DeviceMatrix<T>(b.Scratch1!, 0, c * _dl, wq, wq);
                _ops.Gemm(Op.None, Op.Transpose, T.One, aBlock, Q(b, j), T.Zero, bBlock);
                var b0 = new DeviceMatrix<T>(b.Scratch1!, 0, _dl, wq, wq);
                _ops.SumOfProducts(Op.None, Op.Transpose, c, invN, b0, (long)_dl * wq, b0, (long)_dl * wq, beta, s);
                if (!gradient) continue;
                var a0 = new DeviceMatrix<T>(_a!, i0 * aSize, _dl, _d0, _d0);
                var d0 = new DeviceMatrix<T>(b.Scratch2!, 0, wp, _d0, _d0);
                _ops.BatchedGemm(Op.Transpose, Op.None, c, T.One, P(b, j), 0, a0, aSize, T.Zero, d0, (long)wp * _d0);
                var dBlock = new DeviceMatrix<T>(b.Scratch2!, 0, c * wp, _d0, _d0);
                _ops.Gemm(Op.Transpose, Op.None, invN, dBlock, dBlock, beta, sAdj);
            }
        }
    }

    /// <summary>vec S(H_j) = K vec H_j and vec S*(G_j) = K^T vec G_j for all layers at once (rows of H and G).</summary>
    private void GramSandwiches(StepBuffers b, bool gradient)
    {
        int l = b.Dims.Length - 1;
        for (int j = 1; j <= l; j++)
        {
            _ops.Gemm(Op.Transpose, Op.None, T.One, Q(b, j), Q(b, j), T.Zero, Square(b.H, j, _d0));
            _ops.Gemm(Op.None, Op.Transpose, T.One, P(b, j), P(b, j), T.Zero, Square(b.G, j, _dl));
        }
        int dl2 = _dl * _dl, d02 = _d0 * _d0;
        var k = new DeviceMatrix<T>(_gram!, 0, dl2, d02, d02);
        _ops.Gemm(Op.None, Op.Transpose, T.One, new DeviceMatrix<T>(b.H, 0, l, d02, d02), k, T.Zero, new DeviceMatrix<T>(b.S, 0, l, dl2, dl2));
        if (gradient)
            _ops.Gemm(Op.None, Op.None, T.One, new DeviceMatrix<T>(b.G, 0, l, dl2, dl2), k, T.Zero, new DeviceMatrix<T>(b.SAdj, 0, l, d02, d02));
    }

    /// <summary>Completion: S(H) = diag(C diag H) and S*(G) = diag(C^T diag G) with C the (s^2/n)-weighted
    /// observation counts, so tr_j = 2 diag(G_j)^T C diag(H_j), X_j scales the rows of P_j, Y_j the columns of Q_j.</summary>
    private void CompletionLayers(StepBuffers b, bool gradient)
    {
        int l = b.Dims.Length - 1;
        var diag = b.VecA!;
        long gOff = 0, hOff = _dl, sOff = _dl + _d0, sAdjOff = 2L * _dl + _d0;
        var weights = new DeviceMatrix<T>(_cellWeights!, _dl, _d0);
        for (int j = 1; j <= l; j++)
        {
            _ops.RowDots(P(b, j), P(b, j), T.One, diag, gOff);
            _ops.ColNormsSquared(Q(b, j), diag, hOff);
            _ops.Gemm(Op.None, Op.None, T.One, weights, new DeviceMatrix<T>(diag, hOff, _d0, 1, 1), T.Zero, new DeviceMatrix<T>(diag, sOff, _dl, 1, 1));
            _ops.Dot(diag, gOff, diag, sOff, _dl, Real(2), b.Scalars, j);
            if (!gradient) continue;
            _ops.Gemm(Op.Transpose, Op.None, T.One, weights, new DeviceMatrix<T>(diag, gOff, _dl, 1, 1), T.Zero, new DeviceMatrix<T>(diag, sAdjOff, _d0, 1, 1));
            _ops.ScaleRows(P(b, j), diag, sOff, Real(4), X(b, j));
            _ops.ScaleCols(Q(b, j), diag, sAdjOff, Real(4), Y(b, j));
        }
    }

    /// <summary>Rank-one: with g_i = |P_j^T u_i|^2 and w_i = |Q_j v_i|^2, tr_j = (2/n) sum_i g_i w_i,
    /// X_j = (4/n) U^T diag(w) U P_j and Y_j = (4/n) Q_j V^T diag(g) V.</summary>
    private void RankOneLayers(StepBuffers b, bool gradient, T invN)
    {
        int l = b.Dims.Length - 1;
        var u = new DeviceMatrix<T>(_u!, _n, _dl);
        var v = new DeviceMatrix<T>(_v!, _n, _d0);
        var norms = b.VecB!;
        long gOff = 0, wOff = _n;
        for (int j = 1; j <= l; j++)
        {
            int wp = b.Dims[j], wq = b.Dims[j - 1];
            var up = new DeviceMatrix<T>(b.Scratch1!, 0, _n, wp, wp);
            var vq = new DeviceMatrix<T>(b.Scratch2!, 0, _n, wq, wq);
            _ops.Gemm(Op.None, Op.None, T.One, u, P(b, j), T.Zero, up);
            _ops.Gemm(Op.None, Op.Transpose, T.One, v, Q(b, j), T.Zero, vq);
            _ops.RowDots(up, up, T.One, norms, gOff);
            _ops.RowDots(vq, vq, T.One, norms, wOff);
            _ops.Dot(norms, gOff, norms, wOff, _n, Real(2) * invN, b.Scalars, j);
            if (!gradient) continue;
            var scaledUp = new DeviceMatrix<T>(b.VecA!, 0, _n, wp, wp);
            _ops.ScaleRows(up, norms, wOff, T.One, scaledUp);
            _ops.Gemm(Op.Transpose, Op.None, Real(4) * invN, u, scaledUp, T.Zero, X(b, j));
            var scaledVq = new DeviceMatrix<T>(b.VecA!, 0, _n, wq, wq);
            _ops.ScaleRows(vq, norms, gOff, T.One, scaledVq);
            _ops.Gemm(Op.Transpose, Op.None, Real(4) * invN, scaledVq, v, T.Zero, Y(b, j));
        }
    }

    /// <summary>d tr / dW_k = P_k^T U_k + V_k Q_k^T with U_2 = X_1, U_{k+1} = X_k + U_k W_k^T and
    /// V_{L-1} = Y_L, V_k = Y_{k+1} + W_{k+1}^T V_{k+1}, accumulated in place in X and Y.</summary>
    private void ChainRule(StepBuffers b)
    {
        int l = b.Dims.Length - 1;
        for (int k = 2; k <= l - 1; k++)
            _ops.Gemm(Op.None, Op.Transpose, T.One, X(b, k - 1), W(b, k), T.One, X(b, k));       // X_k := U_{k+1}
        for (int k = l - 2; k >= 1; k--)
            _ops.Gemm(Op.Transpose, Op.None, T.One, W(b, k + 1), Y(b, k + 2), T.One, Y(b, k + 1)); // Y_{k+1} := V_k
        b.TraceGrad.Clear();
        for (int k = 1; k <= l; k++)
        {
            var grad = Grad(b, b.TraceGrad, k);
            if (k >= 2) _ops.Gemm(Op.Transpose, Op.None, T.One, P(b, k), X(b, k - 1), T.One, grad);
            if (k <= l - 1) _ops.Gemm(Op.None, Op.Transpose, T.One, Y(b, k + 1), Q(b, k), T.One, grad);
        }
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _step?.Dispose();
        foreach (var r in _resident) r.Dispose();
        _resident.Clear();
    }
}
