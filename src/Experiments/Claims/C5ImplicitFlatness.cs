using Flatness.Kernels.Tensors;
using Flatness.Solver.Baselines;
using Flatness.Solver.Metrics;
using Flatness.Solver.Model;
using Flatness.Solver.Optimizers;
using Flatness.Solver.Problems;
using Flatness.Solver.Theory;

namespace Flatness.Experiments.Claims;

/// <summary>
/// C5: label-noise SGD and one-sample SAM, algorithms that minimise tr H implicitly, drift from a sharp interpolant to
/// a flat one. Start: the minimum-Frobenius interpolant of a Gaussian problem (nuclear norm well above M*'s), factored
/// sharply (balanced factorisation with W_1 scaled by c and W_L by 1/c: same E, larger tr H). Measured along the run:
/// tr H, the nuclear norm of E and the test error; the target is the flattest interpolant from the same start
/// (penalty continuation from a random start). Expected: tr H falls most of the way to the flattest interpolant's, the nuclear norm falls,
/// the loss stays small.
/// </summary>
internal sealed class C5ImplicitFlatness : Claim
{
    public override string Id => "C5";
    public override string Title => "Implicit flatness of noisy training";

    public static readonly string[] Methods = ["label-noise", "one-sam", "flattest"];

    private static (int D, int N) Size(SweepSettings s) => s.Pick((5, 20), (8, 40), (10, 60));
    private static int[] Depths(SweepSettings s) => s.Pick(new[] { 2 }, new[] { 2, 3 }, new[] { 2, 3, 4 });
    private static long Steps(SweepSettings s) => s.Pick(40_000L, 200_000L, 1_000_000L);
    /// <summary>Standard deviation of the label noise.</summary>
    public const double Sigma = 0.4;
    /// <summary>Largest final loss, relative to the null loss ||b||^2/n, that still counts as (near) interpolation.</summary>
    public const double NearInterpolation = 0.02;

    /// <summary>Sharpness of the start: W_1 scaled by this, W_L by its inverse.</summary>
    public const double Unbalance = 3.0;

    private protected override IEnumerable<ResultRow> Configurations(SweepSettings settings)
    {
        foreach (int depth in Depths(settings))
            foreach (var method in Methods)
                yield return new ResultRow().Set("depth", depth).Set("method", method);
    }

    internal override IReadOnlyList<ResultRow> Run(SweepCell cell, ExperimentContext context)
    {
        var s = context.Settings;
        var (d, n) = Size(s);
        int depth = cell.Parameters.Integer("depth"), replicate = cell.Parameters.Integer("seed");
        string method = cell.Parameters.Text("method");
        var problem = Generators.Gaussian(d, d, 1, n, seed: SweepCell.StableSeed($"C5/problem/d{d}/n{n}/{replicate}"));
        var dims = Initializers.Dims(d, d, depth);
        var start = SharpInterpolant(problem, dims);
        using var evaluator = context.CreateEvaluator(problem, dims);

        long steps = Steps(s);
        int every = (int)(steps / 40);
        OptimizerResult run = method switch
        {
            "label-noise" => new LabelNoiseSgd(new LabelNoiseOptions
            {
                LearningRate = 2 * LearningRate(d, depth), Sigma = Sigma, Seed = cell.SubSeed("noise"), MaxSteps = steps, HistoryEvery = every, CheckEvery = 500,
            }).Run(evaluator, start),
            "one-sam" => new OneSampleSam(new OneSampleSamOptions
            {
                LearningRate = LearningRate(d, depth), Rho = 0.1, Seed = cell.SubSeed("noise"), MaxSteps = steps, HistoryEvery = every, CheckEvery = 500,
            }).Run(evaluator, start),
            // The flattest interpolant, from a random start (from an interpolant the penalty method has nothing to do).
            "flattest" => new PenaltyContinuation(new PenaltyOptions { MaxSteps = 20_000, HistoryEvery = 0 })
                .Run(evaluator, Initializers.Gaussian(dims, 1.0, cell.SubSeed("flattest"))),
            _ => throw new ArgumentException($"unknown method '{method}'"),
        };

        var rows = new List<ResultRow>();
        var begin = PointMetrics.Compute(problem, start, evaluator, 0);
        var end = PointMetrics.Compute(problem, run.Layers, evaluator, 0);
        if (method == "flattest")
        {
            rows.Add(Row(0, begin));
            rows.Add(Row(run.Steps, end));
        }
        else
        {
            foreach (var h in run.History.Rows)
                rows.Add(new ResultRow().Set("step", h.Step).Set("loss", h.Loss).Set("trace", h.Trace).Set("g", h.G)
                    .Set("nuclear_norm", h.NuclearNorm).Set("test_error", h.RelativeError).Set("trace_over_2f", double.NaN));
            rows[^1] = Row(run.Steps, end);
        }
        rows[0].Set("trace_start", begin.HessianTrace);
        foreach (var r in rows) r.Set("null_loss", problem.Labels.Sum(b => b * b) / n);
        return rows;
    }

    private static ResultRow Row(long step, PointMetrics m) => new ResultRow()
        .Set("step", step).Set("loss", m.Loss).Set("trace", m.HessianTrace).Set("g", m.FlatnessG)
        .Set("nuclear_norm", m.NuclearNorm).Set("test_error", m.RelativeError!.Value).Set("trace_over_2f", m.HessianTrace / (2 * m.BoundF));

    /// <summary>Step size for one-sample steps: the per-sample curvature grows like d_0 d_L.</summary>
    private static double LearningRate(int d, int depth) => 0.2 / (d * d * depth);

    /// <summary>The minimum-Frobenius interpolant, balanced-factorised, then unbalanced by <see cref="Unbalance"/>.</summary>
    public static Factorization SharpInterpolant(SensingProblem problem, int[] dims)
    {
        var e = MinimumFrobenius.Solve(problem).Solution;
        var layers = FlatnessTheory.BalancedFactorization(e, dims);
        for (int t = 0; t < layers[0].Length; t++) layers[0].Data[t] *= Unbalance;
        for (int t = 0; t < layers[^1].Length; t++) layers[^1].Data[t] /= Unbalance;
        return new Factorization(layers);
    }

    internal override ClaimVerdict Judge(IReadOnlyList<ResultRow> rows, SweepSettings settings)
    {
        var v = new VerdictBuilder();
        foreach (int depth in rows.Select(r => r.Integer("depth")).Distinct().Order())
        {
            var flattest = rows.Where(r => r.Integer("depth") == depth && r.Text("method") == "flattest")
                .GroupBy(r => r.Integer("seed")).ToDictionary(g => g.Key, g => g.Last());
            foreach (var method in Methods.Where(m => m != "flattest"))
            {
                var runs = rows.Where(r => r.Integer("depth") == depth && r.Text("method") == method).GroupBy(r => r.Integer("seed")).ToArray();
                if (runs.Length == 0) continue;
                // Fraction of the way from the sharp start to the flattest interpolant, in tr H (1 = reached it).
                var progress = runs.Select(g =>
                {
                    double t0 = g.First().Number("trace_start"), t1 = g.Last().Number("trace"), flat = flattest[g.Key].Number("trace");
                    return (t0 - t1) / (t0 - flat);
                }).ToArray();
                double traceDrop = runs.Average(g => g.Last().Number("trace") / g.First().Number("trace_start"));
                double nuclearDrop = runs.Average(g => g.Last().Number("nuclear_norm") / g.First().Number("nuclear_norm"));
                // Label noise keeps the loss fluctuating: average it over the last quarter of the run.
                double finalLoss = runs.Max(g => TailMean(g.Select(r => r.Number("loss")).ToArray()) / g.Last().Number("null_loss"));
                double ratio = runs.Average(g => g.Last().Number("trace_over_2f"));
                string tag = $"{method}_L{depth}";
                v.Number($"{tag}_progress_to_flattest", progress.Average())
                 .Number($"{tag}_final_over_start_trace", traceDrop)
                 .Number($"{tag}_final_over_start_nuclear", nuclearDrop)
                 .Number($"{tag}_final_trace_over_2F", ratio)
                 .Number($"{tag}_max_tail_loss_over_null", finalLoss);
                v.Check(progress.Min() >= 0.75, $"{method}, L = {depth}: tr H covers >= 75% of the way to the flattest interpolant's (min over seeds {VerdictBuilder.F(progress.Min())})")
                 .Check(nuclearDrop < 0.95, $"{method}, L = {depth}: the nuclear norm falls (final/start {VerdictBuilder.F(nuclearDrop)} < 0.95)")
                 .Check(finalLoss <= NearInterpolation, $"{method}, L = {depth}: still near interpolation (loss/null loss over the last quarter {VerdictBuilder.F(finalLoss)} <= {NearInterpolation})");
            }
        }
        var numbers = v.Numbers;
        string Join(string suffix) => string.Join(", ", numbers.Where(n => n.Key.EndsWith(suffix, StringComparison.Ordinal))
            .Select(n => $"{n.Key[..^suffix.Length]} {VerdictBuilder.F(n.Value)}"));
        v.Headline($"share of the way to the flattest interpolant's tr H: {Join("_progress_to_flattest")}; " +
                   $"nuclear norm end/start: {Join("_final_over_start_nuclear")}");
        return v.Build();
    }

    private static double TailMean(double[] values)
    {
        int from = values.Length - Math.Max(1, values.Length / 4);
        return values[from..].Average();
    }

    internal override IReadOnlyList<string> Plot(IReadOnlyList<ResultRow> rows, string directory, SweepSettings settings)
    {
        var files = new List<string>();
        foreach (var (column, label, name) in new[] { ("trace", "tr H", "trace"), ("nuclear_norm", "||E||_*", "nuclear"), ("test_error", "test error ||E - M*||_F^2", "error") })
        {
            var chart = new Chart($"C5: {label} along label-noise SGD and one-sample SAM (sharp start, seed 0)", "step", label, logY: column != "nuclear_norm");
            foreach (int depth in rows.Select(r => r.Integer("depth")).Distinct().Order())
            {
                foreach (var method in Methods.Where(m => m != "flattest"))
                {
                    var run = rows.Where(r => r.Integer("depth") == depth && r.Text("method") == method && r.Integer("seed") == 0).ToArray();
                    chart.Series($"{method}, L = {depth}", run.Select(r => r.Number("step")).ToArray(), run.Select(r => r.Number(column)).ToArray());
                }
                var flat = rows.Where(r => r.Integer("depth") == depth && r.Text("method") == "flattest" && r.Integer("seed") == 0).ToArray();
                if (flat.Length > 0) chart.HorizontalLine(flat[^1].Number(column), $"flattest interpolant, L = {depth}");
            }
            files.Add(chart.LegendOutside().Save(directory, $"C5-{name}.png", width: 1100));
        }
        return files;
    }
}
