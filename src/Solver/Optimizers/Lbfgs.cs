namespace Flatness.Solver.Optimizers;

/// <summary>Writes the gradient of f at x into <c>gradient</c> and returns f(x).</summary>
internal delegate double ValueAndGradient(ReadOnlySpan<double> x, Span<double> gradient);

/// <summary>One accepted L-BFGS iterate, as passed to <see cref="LbfgsOptions.OnIteration"/>.</summary>
internal readonly record struct LbfgsIterate(int Iteration, double Value, double GradientNorm, int Evaluations, double[] X);

/// <summary>Why <see cref="Lbfgs.Minimize"/> stopped.</summary>
internal enum LbfgsStatus
{
    /// <summary>||g||_2 fell to the gradient tolerance.</summary>
    GradientTolerance,
    /// <summary>The relative decrease of f in one iteration fell to the function tolerance.</summary>
    FunctionTolerance,
    /// <summary>The iteration budget is spent.</summary>
    MaxIterations,
    /// <summary>No step along the L-BFGS direction or along -g satisfied the line search.</summary>
    LineSearchFailed,
    /// <summary><see cref="LbfgsOptions.ShouldStop"/> returned true (time limit).</summary>
    Stopped,
}

/// <summary>Memory, stopping rules and callbacks of <see cref="Lbfgs.Minimize"/>.</summary>
internal sealed record LbfgsOptions
{
    /// <summary>Number of stored curvature pairs (s, y).</summary>
    public int Memory { get; init; } = 10;
    /// <summary>Most iterations.</summary>
    public int MaxIterations { get; init; } = 1000;
    /// <summary>Stop when ||g||_2 &lt;= this (absolute).</summary>
    public double GradientTolerance { get; init; } = 1e-9;
    /// <summary>Stop when (f_k - f_{k+1}) &lt;= this * max(|f_k|, |f_{k+1}|).</summary>
    public double FunctionTolerance { get; init; } = 1e-15;
    /// <summary>Function evaluations allowed per line search.</summary>
    public int MaxLineSearchEvaluations { get; init; } = 40;
    /// <summary>Sufficient-decrease constant c1 of the strong Wolfe conditions.</summary>
    public double C1 { get; init; } = 1e-4;
    /// <summary>Curvature constant c2 of the strong Wolfe conditions.</summary>
    public double C2 { get; init; } = 0.9;
    /// <summary>Polled once per iteration; true ends the run with <see cref="LbfgsStatus.Stopped"/>.</summary>
    public Func<bool>? ShouldStop { get; init; }
    /// <summary>Called after every accepted iterate (X is the live buffer: copy it to keep it).</summary>
    public Action<LbfgsIterate>? OnIteration { get; init; }
    /// <summary>Called at the start of every iteration with a way to take the whole state (for checkpoints).</summary>
    internal Action<Func<LbfgsState>>? BeforeIteration { get; init; }
    /// <summary>Continue from this state (from <see cref="BeforeIteration"/>) instead of evaluating the start point.</summary>
    internal LbfgsState? Resume { get; init; }
}

/// <summary>
/// Everything <see cref="Lbfgs.Minimize"/> carries from one iteration to the next: the iterate, its value and gradient,
/// the curvature pairs (in their ring slots), and the counters.
/// </summary>
internal sealed record LbfgsState(double[] X, double Value, double[] Gradient, double[][] S, double[][] Y, double[] Rho,
    int Newest, int Count, int Iteration, int Evaluations, int NonFiniteTrials)
{
    public void WriteTo(OptimizerCheckpoint c, string prefix)
    {
        c.Set(prefix + "x", X);
        c.Set(prefix + "value", Value);
        c.Set(prefix + "gradient", Gradient);
        for (int i = 0; i < S.Length; i++)
        {
            c.Set($"{prefix}s{i}", S[i]);
            c.Set($"{prefix}y{i}", Y[i]);
        }
        c.Set(prefix + "rho", Rho);
        c.Set(prefix + "counters", [Newest, Count, Iteration, Evaluations, NonFiniteTrials]);
    }

    public static LbfgsState ReadFrom(OptimizerCheckpoint c, string prefix, int memory, int n)
    {
        long[] k = c.Integers(prefix + "counters", 5);
        if (k[0] < -1 || k[0] >= memory || k[1] < 0 || k[1] > memory || (k[1] == 0) != (k[0] == -1)
            || k.Skip(2).Any(v => v < 0 || v > int.MaxValue))
            throw new ArgumentException($"the checkpoint's L-BFGS counters [{string.Join(", ", k)}] do not fit memory {memory}");
        return new LbfgsState(c.Reals(prefix + "x", n), c.Real(prefix + "value"), c.Reals(prefix + "gradient", n),
            Enumerable.Range(0, memory).Select(i => c.Reals($"{prefix}s{i}", n)).ToArray(),
            Enumerable.Range(0, memory).Select(i => c.Reals($"{prefix}y{i}", n)).ToArray(),
            c.Reals(prefix + "rho", memory), (int)k[0], (int)k[1], (int)k[2], (int)k[3], (int)k[4]);
    }
}

/// <param name="X">The final iterate (the best point found: every accepted step decreases f).</param>
/// <param name="NonFiniteTrials">Line-search trial points where f or its gradient was not finite (each one shrank the step).</param>
internal sealed record LbfgsResult(double[] X, double Value, double GradientNorm, int Iterations, int Evaluations,
    int NonFiniteTrials, LbfgsStatus Status);

/// <summary>
/// Limited-memory BFGS (Nocedal and Wright, Numerical Optimization, algorithms 7.4 and 7.5) with a strong-Wolfe line
/// search (algorithms 3.5 and 3.6: bracketing, then zoom by safeguarded cubic interpolation). A trial point whose
/// value or gradient is not finite is treated as too far and shrinks the step. The initial inverse Hessian is
/// gamma I with gamma = s^T y / y^T y of the newest pair; pairs with too little curvature are skipped.
/// </summary>
internal static class Lbfgs
{
    /// <summary>Minimises <paramref name="function"/> from <paramref name="start"/> (not modified).</summary>
    public static LbfgsResult Minimize(ValueAndGradient function, double[] start, LbfgsOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(function);
        ArgumentNullException.ThrowIfNull(start);
        options ??= new LbfgsOptions();
        if (options.Memory < 1) throw new ArgumentOutOfRangeException(nameof(options), $"L-BFGS memory must be >= 1, got {options.Memory}");
        if (options.MaxIterations < 0) throw new ArgumentOutOfRangeException(nameof(options), $"MaxIterations must be >= 0, got {options.MaxIterations}");
        if (!(options.C1 > 0 && options.C1 < options.C2 && options.C2 < 1))
            throw new ArgumentOutOfRangeException(nameof(options), $"need 0 < c1 < c2 < 1, got c1 = {options.C1}, c2 = {options.C2}");

        int n = start.Length;
        var x = (double[])start.Clone();
        var g = new double[n];
        var history = new CurvatureHistory(options.Memory, n);
        int evaluations, iteration, nonFinite;
        double f;
        if (options.Resume is { } resume)
        {
            if (resume.X.Length != n || resume.S.Length != options.Memory)
                throw new ArgumentException($"L-BFGS: the state to resume has {resume.X.Length} variables and memory {resume.S.Length}, not {n} and {options.Memory}");
            (f, evaluations, iteration, nonFinite) = (resume.Value, resume.Evaluations, resume.Iteration, resume.NonFiniteTrials);
            resume.X.CopyTo(x, 0);
            resume.Gradient.CopyTo(g, 0);
            history.Restore(resume);
        }
        else
        {
            (evaluations, iteration, nonFinite) = (1, 0, 0);
            f = function(x, g);
            if (!double.IsFinite(f) || !AllFinite(g))
                throw new ArgumentException("L-BFGS: the objective or its gradient is not finite at the starting point");
        }

        var search = new LineSearch(function, options, n);
        var d = new double[n];
        double gNorm = Norm(g);
        LbfgsStatus status;

        while (true)
        {
            options.BeforeIteration?.Invoke(() => history.State(x, f, g, iteration, evaluations, nonFinite));
            if (gNorm <= options.GradientTolerance) { status = LbfgsStatus.GradientTolerance; break; }
            if (iteration >= options.MaxIterations) { status = LbfgsStatus.MaxIterations; break; }
            if (options.ShouldStop?.Invoke() == true) { status = LbfgsStatus.Stopped; break; }

            history.Direction(g, d);
            double slope = Dot(g, d);
            if (!(slope < 0))
            {
                history.Clear();
                for (int t = 0; t < n; t++) d[t] = -g[t];
                slope = -gNorm * gNorm;
            }
            double initial = history.Count == 0 ? Math.Min(1.0, 1.0 / gNorm) : 1.0;
            var outcome = search.Run(x, f, g, d, slope, initial);
            evaluations += outcome.Evaluations;
            nonFinite += outcome.NonFinite;
            if (!outcome.Success && history.Count > 0)
            {
                // Retry once along steepest descent with a fresh memory.
                history.Clear();
                for (int t = 0; t < n; t++) d[t] = -g[t];
                outcome = search.Run(x, f, g, d, -gNorm * gNorm, Math.Min(1.0, 1.0 / gNorm));
                evaluations += outcome.Evaluations;
                nonFinite += outcome.NonFinite;
            }
            if (!outcome.Success) { status = LbfgsStatus.LineSearchFailed; break; }

            // s = x_new - x, y = g_new - g.
            history.Push(search.X, x, search.G, g);
            double previous = f;
            Array.Copy(search.X, x, n);
            Array.Copy(search.G, g, n);
            f = search.Value;
            gNorm = Norm(g);
            iteration++;
            options.OnIteration?.Invoke(new LbfgsIterate(iteration, f, gNorm, evaluations, x));

            double scale = Math.Max(Math.Abs(previous), Math.Abs(f));
            if (previous - f <= options.FunctionTolerance * scale && gNorm > options.GradientTolerance)
            {
                status = LbfgsStatus.FunctionTolerance;
                break;
            }
        }
        return new LbfgsResult(x, f, gNorm, iteration, evaluations, nonFinite, status);
    }

    private static double Dot(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        double s = 0;
        for (int t = 0; t < a.Length; t++) s += a[t] * b[t];
        return s;
    }

    private static double Norm(ReadOnlySpan<double> a) => Math.Sqrt(Dot(a, a));

    private static bool AllFinite(ReadOnlySpan<double> a)
    {
        foreach (double v in a) if (!double.IsFinite(v)) return false;
        return true;
    }

    /// <summary>The stored pairs (s_i, y_i) and the two-loop recursion d = -H g.</summary>
    private sealed class CurvatureHistory(int memory, int n)
    {
        private readonly double[][] _s = Enumerable.Range(0, memory).Select(_ => new double[n]).ToArray();
        private readonly double[][] _y = Enumerable.Range(0, memory).Select(_ => new double[n]).ToArray();
        private readonly double[] _rho = new double[memory];
        private readonly double[] _alpha = new double[memory];
        private int _newest = -1;

        public int Count { get; private set; }

        public void Clear() { Count = 0; _newest = -1; }

        public LbfgsState State(double[] x, double f, double[] g, int iteration, int evaluations, int nonFinite) =>
            new((double[])x.Clone(), f, (double[])g.Clone(), _s.Select(v => (double[])v.Clone()).ToArray(),
                _y.Select(v => (double[])v.Clone()).ToArray(), (double[])_rho.Clone(), _newest, Count, iteration, evaluations, nonFinite);

        public void Restore(LbfgsState state)
        {
            for (int i = 0; i < memory; i++)
            {
                state.S[i].CopyTo(_s[i], 0);
                state.Y[i].CopyTo(_y[i], 0);
            }
            state.Rho.CopyTo(_rho, 0);
            (_newest, Count) = (state.Newest, state.Count);
        }

        public void Push(double[] xNew, double[] x, double[] gNew, double[] g)
        {
            double sy = 0, ss = 0, yy = 0;
            for (int t = 0; t < n; t++)
            {
                double st = xNew[t] - x[t], yt = gNew[t] - g[t];
                sy += st * yt; ss += st * st; yy += yt * yt;
            }
            if (!(sy > 1e-12 * Math.Sqrt(ss * yy))) return; // not enough curvature: keep the old pairs
            int slot = (_newest + 1) % memory;
            var s = _s[slot];
            var y = _y[slot];
            for (int t = 0; t < n; t++) { s[t] = xNew[t] - x[t]; y[t] = gNew[t] - g[t]; }
            _rho[slot] = 1.0 / sy;
            _newest = slot;
            Count = Math.Min(Count + 1, memory);
        }

        public void Direction(double[] g, double[] d)
        {
            for (int t = 0; t < n; t++) d[t] = -g[t];
            if (Count == 0) return;
            for (int k = 0; k < Count; k++)
            {
                int i = ((_newest - k) % memory + memory) % memory;
                _alpha[i] = _rho[i] * Dot(_s[i], d);
                var y = _y[i];
                for (int t = 0; t < n; t++) d[t] -= _alpha[i] * y[t];
            }
            double gamma = Dot(_s[_newest], _y[_newest]) / Dot(_y[_newest], _y[_newest]);
            for (int t = 0; t < n; t++) d[t] *= gamma;
            for (int k = Count - 1; k >= 0; k--)
            {
                int i = ((_newest - k) % memory + memory) % memory;
                double beta = _rho[i] * Dot(_y[i], d);
                var s = _s[i];
                for (int t = 0; t < n; t++) d[t] += (_alpha[i] - beta) * s[t];
            }
        }
    }

    private readonly record struct SearchOutcome(bool Success, int Evaluations, int NonFinite);

    /// <summary>Strong-Wolfe line search along d from x; the accepted point is left in X, G, Value.</summary>
    private sealed class LineSearch(ValueAndGradient function, LbfgsOptions options, int n)
    {
        public double[] X { get; } = new double[n];
        public double[] G { get; } = new double[n];
        public double Value { get; private set; }

        private readonly double[] _trialX = new double[n];
        private readonly double[] _trialG = new double[n];
        private readonly double[] _loX = new double[n];
        private readonly double[] _loG = new double[n];

        private int _evaluations;
        private int _nonFinite;

        private (double Phi, double Slope, bool Finite) Probe(double[] x, double[] d, double alpha)
        {
            for (int t = 0; t < n; t++) _trialX[t] = x[t] + alpha * d[t];
            _evaluations++;
            double phi = function(_trialX, _trialG);
            double slope = Dot(_trialG, d);
            bool finite = double.IsFinite(phi) && double.IsFinite(slope) && AllFinite(_trialG);
            if (!finite) _nonFinite++;
            return (phi, slope, finite);
        }

        private void Accept(double phi)
        {
            Array.Copy(_trialX, X, n);
            Array.Copy(_trialG, G, n);
            Value = phi;
        }

        public SearchOutcome Run(double[] x, double f0, double[] g0, double[] d, double slope0, double alpha)
        {
            _evaluations = 0;
            _nonFinite = 0;
            double c1 = options.C1, c2 = options.C2;
            double prevAlpha = 0, prevPhi = f0, prevSlope = slope0;
            Array.Copy(x, _loX, n);
            Array.Copy(g0, _loG, n);
            bool first = true;
            while (_evaluations < options.MaxLineSearchEvaluations)
            {
                var (phi, slope, finite) = Probe(x, d, alpha);
                if (!finite)
                {
                    alpha = prevAlpha + 0.5 * (alpha - prevAlpha);
                    continue;
                }
                if (phi > f0 + c1 * alpha * slope0 || (!first && phi >= prevPhi))
                    return Zoom(x, f0, slope0, d, prevAlpha, prevPhi, prevSlope, alpha, phi, slope, true);
                if (Math.Abs(slope) <= -c2 * slope0)
                {
                    Accept(phi);
                    return new SearchOutcome(true, _evaluations, _nonFinite);
                }
                if (slope >= 0)
                {
                    Array.Copy(_trialX, _loX, n);
                    Array.Copy(_trialG, _loG, n);
                    return Zoom(x, f0, slope0, d, alpha, phi, slope, prevAlpha, prevPhi, prevSlope, true);
                }
                Array.Copy(_trialX, _loX, n);
                Array.Copy(_trialG, _loG, n);
                prevAlpha = alpha;
                prevPhi = phi;
                prevSlope = slope;
                alpha *= 2;
                first = false;
            }
            return Fallback(prevAlpha, prevPhi);
        }

        /// <summary>Algorithm 3.6: lo satisfies sufficient decrease and has the lowest value seen; hi brackets with it.</summary>
        private SearchOutcome Zoom(double[] x, double f0, double slope0, double[] d,
            double lo, double phiLo, double slopeLo, double hi, double phiHi, double slopeHi, bool hiFinite)
        {
            double c1 = options.C1, c2 = options.C2;
            while (_evaluations < options.MaxLineSearchEvaluations)
            {
                double width = hi - lo;
                double alpha = hiFinite ? Cubic(lo, phiLo, slopeLo, hi, phiHi, slopeHi) : double.NaN;
                double low = Math.Min(lo, hi) + 0.1 * Math.Abs(width), high = Math.Max(lo, hi) - 0.1 * Math.Abs(width);
                if (!double.IsFinite(alpha) || alpha < low || alpha > high) alpha = lo + 0.5 * width;
                if (Math.Abs(width) <= 1e-16 * Math.Max(1.0, Math.Abs(lo))) break;

                var (phi, slope, finite) = Probe(x, d, alpha);
                if (!finite)
                {
                    hi = alpha;
                    hiFinite = false;
                    continue;
                }
                if (phi > f0 + c1 * alpha * slope0 || phi >= phiLo)
                {
                    hi = alpha; phiHi = phi; slopeHi = slope; hiFinite = true;
                    continue;
                }
                if (Math.Abs(slope) <= -c2 * slope0)
                {
                    Accept(phi);
                    return new SearchOutcome(true, _evaluations, _nonFinite);
                }
                if (slope * (hi - lo) >= 0)
                {
                    hi = lo; phiHi = phiLo; slopeHi = slopeLo; hiFinite = true;
                }
                lo = alpha; phiLo = phi; slopeLo = slope;
                Array.Copy(_trialX, _loX, n);
                Array.Copy(_trialG, _loG, n);
            }
            return Fallback(lo, phiLo);
        }

        /// <summary>Out of evaluations: accept the best point if it decreased f at all (it satisfies sufficient decrease).</summary>
        private SearchOutcome Fallback(double lo, double phiLo)
        {
            if (lo > 0)
            {
                Array.Copy(_loX, X, n);
                Array.Copy(_loG, G, n);
                Value = phiLo;
                return new SearchOutcome(true, _evaluations, _nonFinite);
            }
            return new SearchOutcome(false, _evaluations, _nonFinite);
        }

        /// <summary>Minimiser of the cubic through (a, fa, ga) and (b, fb, gb), or NaN.</summary>
        private static double Cubic(double a, double fa, double ga, double b, double fb, double gb)
        {
            double d1 = ga + gb - 3 * (fa - fb) / (a - b);
            double disc = d1 * d1 - ga * gb;
            if (!(disc >= 0)) return double.NaN;
            double d2 = Math.Sign(b - a) * Math.Sqrt(disc);
            return b - (b - a) * (gb + d2 - d1) / (gb - ga + 2 * d2);
        }
    }
}
