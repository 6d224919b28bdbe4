using Flatness.Solver.Randomness;
using Flatness.Kernels.Linalg;
using Flatness.Kernels.Tensors;
using Flatness.Solver.Backends;
using Flatness.Solver.Model;
using Flatness.Solver.Optimizers;
using Flatness.Solver.Problems;
using Flatness.Solver.Theory;

namespace Flatness.Experiments.Claims;

/// <summary>
/// C6: what each regulariser induces on the end-to-end matrix at depths 2-4. On the scaled full basis the loss is
/// ||E - Y||_F^2 and tr H = 2G exactly, so (docs/MATH.md section 4)
///   min_W L + lambda tr H  = min_E ||E - Y||^2 + 2 lambda F(E),  F(E) = L (d_0 d_L)^{1/L} ||E||_*^{2(L-1)/L}:
///     a function of the nuclear norm, so E = Y with every singular value shrunk by the same amount (soft threshold);
///   min_W L + mu sum_j ||W_j||_F^2 = min_E ||E - Y||^2 + mu L sum_i s_i^{2/L}  (the Schatten-2/L quasi-norm):
///     the shrinkage of each singular value depends on it, sigma - s = mu s^{2/L - 1}, uniform only at L = 2.
/// Both are trained from the balanced factorisation of a Y with spread singular values (flat: L-BFGS on
/// L + lambda tr H; weight decay: the solver's L-BFGS method); lambda and mu are set so that the predicted shift of the
/// middle singular value is the same. The trained singular values are compared with the scalar predictions.
/// </summary>
internal sealed class C6Depth : Claim
{
    public override string Id => "C6";
    public override string Title => "Depth: weight decay vs flatness";

    public static readonly string[] Methods = ["flat", "weight-decay"];
    /// <summary>Singular values of Y (d_0 = d_L = 6).</summary>
    public static readonly double[] Sigma = [1.0, 0.8, 0.6, 0.45, 0.3, 0.15];
    /// <summary>Shift of the singular value 0.6 that both regularisers are tuned to.</summary>
    public const double Shift = 0.2;
    /// <summary>Agreement required between trained and predicted singular values.</summary>
    public const double Agreement = 1e-3;

    private protected override IEnumerable<ResultRow> Configurations(SweepSettings settings)
    {
        foreach (int depth in new[] { 2, 3, 4 })
            foreach (var method in Methods)
                yield return new ResultRow().Set("depth", depth).Set("method", method);
    }

    private protected override int Replicates(SweepSettings settings) => settings.Pick(1, 2, 3);

    internal override IReadOnlyList<ResultRow> Run(SweepCell cell, ExperimentContext context)
    {
        int depth = cell.Parameters.Integer("depth"), d = Sigma.Length;
        string method = cell.Parameters.Text("method");
        var rng = new NormalSampler(SweepCell.StableSeed($"C6/Y/{cell.Parameters.Integer("seed")}"));
        var y = WithSingularValues(rng, Sigma);
        var problem = Generators.Label(Generators.BasisMeasurements(d, d, asCompletion: true), y, 0, rng);
        var dims = Initializers.Dims(d, d, depth);
        var start = FlatnessTheory.BalancedFactorization(y, dims);
        using var evaluator = context.CreateEvaluator(problem, dims);

        double weight;
        double[] predicted;
        Matrix<double>[] layers;
        if (method == "flat")
        {
            weight = FlatLambda(depth, d);
            predicted = FlatPrediction(weight, depth, d);
            layers = MinimizeFlat(evaluator, start, weight, context.Settings.Pick(3000, 5000, 10000));
        }
        else
        {
            weight = DecayMu(depth);
            predicted = Sigma.Select(s => DecayPrediction(s, weight, depth)).ToArray();
            layers = new WeightDecay(new WeightDecayOptions { Mu = weight, MaxSteps = context.Settings.Pick(3000, 5000, 10000), HistoryEvery = 0, ObjectiveTolerance = 1e-16 })
                .Run(evaluator, new Factorization(start)).Layers.Layers;
        }

        var e = LayerMath.EndToEnd(layers);
        var trained = Svd.SingularValues(e);
        var values = evaluator.Evaluate(layers, Quantities.Trace);
        // Each regulariser at the trained point, over its minimum over the factorisations of the trained E (1 when balanced / flattest).
        double regulariserRatio = method == "flat"
            ? values.Trace / (2 * FlatnessTheory.F(e, depth))
            : LayerMath.NormSquared(layers) / FlatnessTheory.WeightDecayMinimum(e, depth);
        // The other regulariser at the same point, over its own minimum for this E: how far the flattest factorisation
        // is from the weight-decay minimiser and vice versa (1 at L = 2 with d_0 = d_L, above 1 deeper).
        double otherRatio = method == "flat"
            ? LayerMath.NormSquared(layers) / FlatnessTheory.WeightDecayMinimum(e, depth)
            : values.Trace / (2 * FlatnessTheory.F(e, depth));
        var rows = new List<ResultRow>();
        for (int i = 0; i < d; i++)
            rows.Add(new ResultRow()
                .Set("index", i)
                .Set("weight", weight)
                .Set("sigma", Sigma[i])
                .Set("s_trained", trained[i])
                .Set("s_predicted", predicted[i])
                .Set("shrink", Sigma[i] - trained[i])
                .Set("regulariser_over_minimum", regulariserRatio)
                .Set("other_regulariser_over_minimum", otherRatio));
        return rows;
    }

    /// <summary>Y = U diag(sigma) V^T with random orthonormal U, V.</summary>
    private static Matrix<double> WithSingularValues(NormalSampler rng, double[] sigma)
    {
        int d = sigma.Length;
        var u = Svd.Decompose(new Matrix<double>(d, d, rng.Draw(d * d))).U;
        var v = Svd.Decompose(new Matrix<double>(d, d, rng.Draw(d * d))).U;
        var y = new Matrix<double>(d, d);
        for (int a = 0; a < d; a++)
            for (int b = 0; b < d; b++)
                for (int k = 0; k < d; k++) y[a, b] += u[a, k] * sigma[k] * v[b, k];
        return y;
    }

    /// <summary>L-BFGS on L + lambda tr H (the solver's L-BFGS and objective; the penalty method would drive lambda to 0).</summary>
    private static Matrix<double>[] MinimizeFlat(IEvaluator evaluator, Matrix<double>[] start, double lambda, int maxIterations)
    {
        var objective = new Objective(evaluator, 1, lambda);
        var layers = LayerMath.Clone(start);
        var result = Lbfgs.Minimize((x, g) =>
        {
            LayerMath.Unflatten(x, layers);
            var p = objective.Evaluate(layers);
            LayerMath.Flatten(p.Gradient!, g);
            return p.Value;
        }, LayerMath.Flatten(start), new LbfgsOptions { MaxIterations = maxIterations, GradientTolerance = 1e-12, FunctionTolerance = 1e-16 });
        LayerMath.Unflatten(result.X, layers);
        return layers;
    }

    // ---- Scalar predictions (through FlatnessTheory, the one place of F and of the weight-decay minimum) ----

    private static Matrix<double> Diagonal(IReadOnlyList<double> s)
    {
        var m = new Matrix<double>(s.Count, s.Count);
        for (int i = 0; i < s.Count; i++) m[i, i] = s[i];
        return m;
    }

    /// <summary>Soft threshold: E(tau) has singular values max(sigma - tau, 0).</summary>
    private static double[] SoftThreshold(double tau) => Sigma.Select(s => Math.Max(s - tau, 0)).ToArray();

    /// <summary>The threshold tau minimising ||E(tau) - Y||^2 + 2 lambda F(E(tau)) (convex in ||E||_*).</summary>
    public static double FlatThreshold(double lambda, int depth, int d) => GoldenMinimum(tau =>
    {
        double distance = Sigma.Sum(s => Math.Min(s, tau) * Math.Min(s, tau));
        return distance + 2 * lambda * FlatnessTheory.F(Diagonal(SoftThreshold(tau)), depth);
    }, 0, Sigma.Max());

    public static double[] FlatPrediction(double lambda, int depth, int d) => SoftThreshold(FlatThreshold(lambda, depth, d));

    /// <summary>lambda with predicted threshold <see cref="Shift"/> (bisection on a monotone map).</summary>
    public static double FlatLambda(int depth, int d) => Bisect(lambda => FlatThreshold(lambda, depth, d) - Shift);

    /// <summary>
    /// The local minimiser of (s - sigma)^2 + mu * WeightDecayMinimum(s) reached descending from s = sigma (where a
    /// balanced start begins), over s in [0, sigma].
    /// </summary>
    public static double DecayPrediction(double sigma, double mu, int depth)
    {
        double Phi(double s) => (s - sigma) * (s - sigma) + mu * FlatnessTheory.WeightDecayMinimum(Diagonal([s]), depth);
        const int steps = 4000;
        double h = sigma / steps, previous = Phi(sigma);
        for (int k = 1; k <= steps; k++)
        {
            double s = sigma - k * h, value = Phi(s);
            if (value > previous) return GoldenMinimum(Phi, Math.Max(0, s), Math.Min(sigma, s + 2 * h));
            previous = value;
        }
        return 0;
    }

    /// <summary>mu with predicted shift <see cref="Shift"/> of the singular value 0.6.</summary>
    public static double DecayMu(int depth) => Bisect(mu => (0.6 - DecayPrediction(0.6, mu, depth)) - Shift);

    /// <summary>Golden-section search for the minimum of a unimodal f on [a, b]; located to ~1e-8 (comparisons of values).</summary>
    private static double GoldenMinimum(Func<double, double> f, double a, double b)
    {
        double r = (Math.Sqrt(5) - 1) / 2;
        double c = b - r * (b - a), e = a + r * (b - a), fc = f(c), fe = f(e);
        for (int k = 0; k < 200 && b - a > 1e-14; k++)
        {
            if (fc < fe) { b = e; e = c; fe = fc; c = b - r * (b - a); fc = f(c); }
            else { a = c; c = e; fc = fe; e = a + r * (b - a); fe = f(e); }
        }
        return (a + b) / 2;
    }

    /// <summary>The root of an increasing function of a positive weight, by bisection in log scale.</summary>
    private static double Bisect(Func<double, double> increasing)
    {
        double lo = 1e-8, hi = 10;
        for (int k = 0; k < 100; k++)
        {
            double mid = Math.Sqrt(lo * hi);
            if (increasing(mid) < 0) lo = mid; else hi = mid;
        }
        return Math.Sqrt(lo * hi);
    }

    internal override ClaimVerdict Judge(IReadOnlyList<ResultRow> rows, SweepSettings settings)
    {
        var v = new VerdictBuilder().Number("shift_of_sigma_0.6", Shift);
        foreach (int depth in rows.Select(r => r.Integer("depth")).Distinct().Order())
            foreach (var method in Methods)
            {
                var mine = rows.Where(r => r.Integer("depth") == depth && r.Text("method") == method).ToArray();
                if (mine.Length == 0) continue;
                double error = mine.Max(r => Math.Abs(r.Number("s_trained") - r.Number("s_predicted")));
                double regulariser = mine.Max(r => r.Number("regulariser_over_minimum"));
                // Shrinkage of the kept singular values: uniform (nuclear norm) or decreasing in sigma (Schatten-2/L).
                var kept = mine.Where(r => r.Number("s_trained") > 0.02).GroupBy(r => r.Integer("index")).OrderBy(g => g.Key)
                    .Select(g => (Sigma: g.First().Number("sigma"), Shrink: g.Average(r => r.Number("shrink")))).ToArray();
                double spread = kept.Max(k => k.Shrink) - kept.Min(k => k.Shrink);
                double ratio = kept[^1].Shrink / kept[0].Shrink;   // smallest kept sigma over largest
                string tag = $"{method}_L{depth}";
                v.Number($"{tag}_max_abs_s_minus_predicted", error)
                 .Number($"{tag}_shrink_smallest_over_largest", ratio)
                 .Number($"{tag}_kept", kept.Length)
                 .Number($"{tag}_regulariser_over_its_minimum", regulariser)
                 .Number($"{tag}_{(method == "flat" ? "weight_decay" : "flatness")}_over_its_minimum", mine.Average(r => r.Number("other_regulariser_over_minimum")));
                v.Check(error <= Agreement, $"{method}, L = {depth}: trained singular values match the prediction to {VerdictBuilder.F(error)} <= {Agreement}")
                 .Check(regulariser <= 1 + 1e-3, $"{method}, L = {depth}: the trained factorisation is {(method == "flat" ? "the flattest" : "the weight-decay minimiser")} for its E (ratio {VerdictBuilder.F(regulariser)})");
                if (method == "flat" || depth == 2)
                    v.Check(spread <= 0.01, $"{method}, L = {depth}: uniform shrinkage (nuclear norm): spread {VerdictBuilder.F(spread)} <= 0.01 over {kept.Length} kept singular values");
                else
                    v.Check(ratio >= 1.3, $"{method}, L = {depth}: shrinkage falls with sigma (Schatten-2/{depth}): smallest-kept over largest {VerdictBuilder.F(ratio)} >= 1.3");
            }
        string Ratios(string method) => string.Join(", ", v.Numbers.Where(n => n.Key.StartsWith(method + "_L", StringComparison.Ordinal) && n.Key.EndsWith("_shrink_smallest_over_largest", StringComparison.Ordinal))
            .Select(n => $"{n.Key[(method.Length + 1)..n.Key.IndexOf('_', method.Length + 1)]} {VerdictBuilder.F(n.Value)}"));
        double fit = rows.Max(r => Math.Abs(r.Number("s_trained") - r.Number("s_predicted")));
        v.Headline($"shrinkage of the smallest kept over the largest singular value: flatness {Ratios("flat")}; weight decay {Ratios("weight-decay")}; " +
                   $"trained vs predicted singular values within {VerdictBuilder.F(fit)}");
        return v.Build();
    }

    internal override IReadOnlyList<string> Plot(IReadOnlyList<ResultRow> rows, string directory, SweepSettings settings)
    {
        var chart = new Chart("C6: singular values after training, flatness vs weight decay (d = 6)", "sigma_i(Y)", "sigma_i(E)")
            .LegendAt(ScottPlot.Alignment.UpperLeft);
        var grid = Enumerable.Range(0, 101).Select(k => k / 100.0).ToArray();
        chart.Series("sigma(E) = sigma(Y): no regulariser", grid, grid, pattern: ScottPlot.LinePattern.Dotted, markers: false);
        var flat = rows.Where(r => r.Text("method") == "flat").ToArray();
        chart.Series($"predicted, flatness at every L: max(sigma - {Shift}, 0)", grid, grid.Select(g => Math.Max(g - Shift, 0)).ToArray(), markers: false);
        chart.Series("trained, flatness, L = 2, 3, 4", flat.Select(r => r.Number("sigma")).ToArray(), flat.Select(r => r.Number("s_trained")).ToArray(), connect: false);
        foreach (int depth in rows.Select(r => r.Integer("depth")).Distinct().Order())
        {
            var decay = rows.Where(r => r.Text("method") == "weight-decay" && r.Integer("depth") == depth).ToArray();
            if (decay.Length == 0) continue;
            double mu = decay[0].Number("weight");
            chart.Series($"predicted, weight decay, L = {depth} (Schatten-2/{depth})", grid, grid.Select(g => g == 0 ? 0 : DecayPrediction(g, mu, depth)).ToArray(),
                pattern: ScottPlot.LinePattern.Dashed, markers: false);
            chart.Series($"trained, weight decay, L = {depth}", decay.Select(r => r.Number("sigma")).ToArray(), decay.Select(r => r.Number("s_trained")).ToArray(), connect: false);
        }
        return [chart.Save(directory, "C6-singular-values.png")];
    }
}
