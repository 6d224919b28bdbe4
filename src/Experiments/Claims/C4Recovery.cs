using Flatness.Kernels.Tensors;
using Flatness.Solver.Baselines;
using Flatness.Solver.Metrics;
using Flatness.Solver.Model;
using Flatness.Solver.Optimizers;
using Flatness.Solver.Problems;

namespace Flatness.Experiments.Claims;

/// <summary>
/// C4: recovery of a rank-r M* (||M*||_F = 1) from n Gaussian measurements, against n / (r (d_0 + d_L)). The flattest
/// interpolant (penalty continuation: min tr H subject to zero loss) at depths 2-4 is compared with nuclear-norm
/// minimisation, the minimum-Frobenius interpolant and gradient descent from a large initialisation. The test error
/// ||E - M*||_F^2 is the population loss of the Gaussian model. Expected: flat tracks nuclear and is near zero once n
/// is a small multiple of r (d_0 + d_L); min-Frobenius and large-initialisation gradient descent stay far above.
/// </summary>
internal sealed class C4Recovery : Claim
{
    public override string Id => "C4";
    public override string Title => "Recovery vs measurements";

    public static readonly string[] DeepMethods = ["flat", "gd-large-init"];
    public static readonly string[] Baselines = ["nuclear", "min-frobenius"];

    private static (int D, int Rank) Size(SweepSettings s) => s.Pick((8, 1), (10, 1), (16, 2));
    private static double[] Ratios(SweepSettings s) => s.Pick(new[] { 1.0, 3.0 }, new[] { 1.0, 2.0, 3.0, 4.0 }, new[] { 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5 });
    private static int[] Depths(SweepSettings s) => s.Pick(new[] { 2, 3 }, new[] { 2, 3, 4 }, new[] { 2, 3, 4 });
    /// <summary>From this n / (r (d_0 + d_L)) on, flat and nuclear must have recovered M*.</summary>
    public static double RecoveryRatio(SweepSettings s) => s.Pick(3.0, 3.0, 3.0);
    /// <summary>"Near zero": the largest mean test error accepted as recovery.</summary>
    public const double RecoveredError = 1e-2;
    /// <summary>Largest mean error of flat accepted at a ratio where nuclear-norm minimisation recovered (the transition zone).</summary>
    public const double TrackingError = 5e-2;

    public static int Count(SweepSettings s, double ratio)
    {
        var (d, rank) = Size(s);
        int n = (int)Math.Round(ratio * rank * 2 * d);
        // With n >= d_0 d_L the interpolant is unique and every method recovers M*: nothing to compare.
        if (n >= d * d) throw new InvalidOperationException($"C4 grid: n = {n} >= d0 dL = {d * d} at ratio {ratio}");
        return n;
    }

    private protected override IEnumerable<ResultRow> Configurations(SweepSettings settings)
    {
        foreach (double ratio in Ratios(settings))
        {
            foreach (var method in Baselines) yield return new ResultRow().Set("ratio", ratio).Set("method", method);
            foreach (int depth in Depths(settings))
                foreach (var method in DeepMethods)
                    yield return new ResultRow().Set("ratio", ratio).Set("method", method).Set("depth", depth);
        }
    }

    internal override IReadOnlyList<ResultRow> Run(SweepCell cell, ExperimentContext context)
    {
        var s = context.Settings;
        var (d, rank) = Size(s);
        double ratio = cell.Parameters.Number("ratio");
        int n = Count(s, ratio);
        int replicate = cell.Parameters.Integer("seed");
        // Every method sees the same problem for a given n and replicate.
        var problem = Generators.Gaussian(d, d, rank, n, seed: SweepCell.StableSeed($"C4/problem/n{n}/r{rank}/d{d}/{replicate}"));
        string method = cell.Parameters.Text("method");

        Matrix<double>[] layers;
        double steps = double.NaN;
        int depth = cell.Parameters.Has("depth") ? cell.Parameters.Integer("depth") : 1;
        var dims = Initializers.Dims(d, d, depth);
        switch (method)
        {
            case "nuclear":
                layers = [NuclearNormMinimization.Solve(problem, new NuclearOptions { Tolerance = 1e-9 }).Solution];
                break;
            case "min-frobenius":
                layers = [MinimumFrobenius.Solve(problem).Solution];
                break;
            case "flat":
            {
                using var evaluator = context.CreateEvaluator(problem, dims);
                var run = new PenaltyContinuation(new PenaltyOptions { MaxSteps = s.Pick(2000, 6000, 20000), HistoryEvery = 0 })
                    .Run(evaluator, Initializers.Gaussian(dims, 1.0, cell.SubSeed("start")));
                layers = run.Layers.Layers;
                steps = run.Steps;
                break;
            }
            case "gd-large-init":
            {
                using var evaluator = context.CreateEvaluator(problem, dims);
                var run = new GradientDescent(new GradientDescentOptions
                {
                    LearningRate = 0.05, Backtracking = true, MaxSteps = s.Pick(2000, 5000, 20000), LossTolerance = 1e-10, HistoryEvery = 0,
                }).Run(evaluator, Initializers.Gaussian(dims, LargeScale, cell.SubSeed("start")));
                layers = run.Layers.Layers;
                steps = run.Steps;
                break;
            }
            default: throw new ArgumentException($"unknown method '{method}'");
        }

        var point = new Factorization(layers);
        using var metricsEvaluator = context.CreateEvaluator(problem, point.Dims);
        var m = PointMetrics.Compute(problem, point, metricsEvaluator, 0);
        return
        [
            new ResultRow()
                .Set("n", n)
                .Set("d0", d).Set("dL", d).Set("rank", rank)
                .Set("test_error", m.RelativeError!.Value)
                .Set("train_loss", m.Loss)
                .Set("nuclear_norm", m.NuclearNorm)
                .Set("steps", steps),
        ];
    }

    /// <summary>Initial scale of the "large initialisation" (per-layer gain; fan-in normalised Gaussian layers).</summary>
    public const double LargeScale = 2.0;

    private static IEnumerable<(double Ratio, double Mean, double Min, double Max)> Curve(IEnumerable<ResultRow> rows) =>
        rows.GroupBy(r => r.Number("ratio")).OrderBy(g => g.Key).Select(g =>
        {
            var e = g.Select(r => r.Number("test_error")).ToArray();
            return (g.Key, e.Average(), e.Min(), e.Max());
        });

    internal override ClaimVerdict Judge(IReadOnlyList<ResultRow> rows, SweepSettings settings)
    {
        double c = RecoveryRatio(settings);
        var v = new VerdictBuilder().Number("recovery_ratio", c).Number("recovered_error", RecoveredError);
        var baselines = Baselines.ToDictionary(b => b, b => Curve(rows.Where(r => r.Text("method") == b)).ToArray());
        var nuclear = baselines["nuclear"];
        double nuclearAtC = nuclear.Where(p => p.Ratio >= c).Max(p => p.Mean);
        v.Number("nuclear_mean_err_at_ratio_ge_c", nuclearAtC);
        v.Check(nuclearAtC <= RecoveredError, $"nuclear recovers from n/(r(d0+dL)) = {c}: mean error {VerdictBuilder.F(nuclearAtC)} <= {RecoveredError}");

        foreach (int depth in rows.Where(r => r.Has("depth")).Select(r => r.Integer("depth")).Distinct().Order())
        {
            var flat = Curve(rows.Where(r => r.Text("method") == "flat" && r.Has("depth") && r.Integer("depth") == depth)).ToArray();
            var gd = Curve(rows.Where(r => r.Text("method") == "gd-large-init" && r.Has("depth") && r.Integer("depth") == depth)).ToArray();
            double flatAtC = flat.Where(p => p.Ratio >= c).Max(p => p.Mean);
            double gap = flat.Zip(nuclear).Max(p => Math.Abs(p.First.Mean - p.Second.Mean));
            // Tracking: wherever nuclear-norm minimisation has recovered M*, so has the flattest interpolant. Below the
            // transition neither recovers and no closeness is claimed (the RIP constant exceeds 1 there).
            var whereNuclearRecovers = flat.Zip(nuclear).Where(p => p.Second.Mean <= RecoveredError).ToArray();
            double flatWhereNuclear = whereNuclearRecovers.Length == 0 ? double.NaN : whereNuclearRecovers.Max(p => p.First.Mean);
            double firstRatio = whereNuclearRecovers.Length == 0 ? double.NaN : whereNuclearRecovers.Min(p => p.Second.Ratio);
            double frobAtC = baselines["min-frobenius"].Where(p => p.Ratio >= c).Min(p => p.Mean);
            double gdAtC = gd.Where(p => p.Ratio >= c).Min(p => p.Mean);
            v.Number($"flat_L{depth}_mean_err_at_ratio_ge_c", flatAtC)
             .Number($"flat_L{depth}_max_gap_to_nuclear", gap)
             .Number($"flat_L{depth}_max_mean_err_where_nuclear_recovers", flatWhereNuclear)
             .Number($"gd_large_L{depth}_min_mean_err_at_ratio_ge_c", gdAtC)
             .Number($"flat_L{depth}_mean_err_smallest_n", flat[0].Mean);
            v.Check(flatAtC <= RecoveredError, $"L = {depth}: flat recovers from n/(r(d0+dL)) = {c}: mean error {VerdictBuilder.F(flatAtC)} <= {RecoveredError}")
             .Check(whereNuclearRecovers.Length > 0 && flatWhereNuclear <= TrackingError,
                $"L = {depth}: flat tracks nuclear: where nuclear recovers (n/(r(d0+dL)) >= {VerdictBuilder.F(firstRatio)}) flat's mean error is at most {VerdictBuilder.F(flatWhereNuclear)} <= {TrackingError}")
             .Check(frobAtC >= 10 * flatAtC && frobAtC > RecoveredError,
                $"L = {depth}: min-Frobenius far above flat where flat recovers: it has not recovered and is >= 10x flat ({VerdictBuilder.F(frobAtC)} vs {VerdictBuilder.F(flatAtC)})")
             .Check(gdAtC >= 10 * flatAtC && gdAtC > RecoveredError,
                $"L = {depth}: large-init gd far above flat where flat recovers: it has not recovered and is >= 10x flat ({VerdictBuilder.F(gdAtC)} vs {VerdictBuilder.F(flatAtC)})")
             .Check(flat[^1].Mean < flat[0].Mean, $"L = {depth}: flat error falls with n ({VerdictBuilder.F(flat[0].Mean)} -> {VerdictBuilder.F(flat[^1].Mean)})");
        }
        var flatAt = rows.Where(r => r.Text("method") == "flat" && r.Number("ratio") >= c).GroupBy(r => r.Integer("depth")).OrderBy(g => g.Key)
            .Select(g => $"L{g.Key} {VerdictBuilder.F(g.GroupBy(r => r.Number("ratio")).Max(h => h.Average(r => r.Number("test_error"))))}");
        var gdAt = rows.Where(r => r.Text("method") == "gd-large-init" && r.Number("ratio") >= c).GroupBy(r => r.Number("ratio"))
            .Min(h => h.GroupBy(r => r.Integer("depth")).Min(g => g.Average(r => r.Number("test_error"))));
        v.Headline($"mean test error from n = {c} r(d0+dL): flat {string.Join(", ", flatAt)}; nuclear {VerdictBuilder.F(nuclearAtC)}; " +
                   $"min-Frobenius >= {VerdictBuilder.F(baselines["min-frobenius"].Where(p => p.Ratio >= c).Min(p => p.Mean))}; large-init gd >= {VerdictBuilder.F(gdAt)}");
        v.Number("min_frobenius_min_mean_err_at_ratio_ge_c", baselines["min-frobenius"].Where(p => p.Ratio >= c).Min(p => p.Mean));
        return v.Build();
    }

    /// <summary>Errors below this are drawn at it: round-off, not a difference between methods.</summary>
    private const double Floor = 1e-12;

    internal override IReadOnlyList<string> Plot(IReadOnlyList<ResultRow> rows, string directory, SweepSettings settings)
    {
        var files = new List<string>();
        var first = rows[0];
        string sizes = $"d0 = dL = {first.Integer("d0")}, rank {first.Integer("rank")}";
        foreach (int depth in rows.Where(r => r.Has("depth")).Select(r => r.Integer("depth")).Distinct().Order())
        {
            var chart = new Chart($"C4: recovery from Gaussian measurements, depth {depth} ({sizes})",
                "n / (r (d0 + dL))", "test error ||E - M*||_F^2  (mean, min-max; floor 1e-12)", logY: true).LegendAt(ScottPlot.Alignment.LowerLeft);
            void Add(string legend, IEnumerable<ResultRow> mine)
            {
                var curve = Curve(mine).ToArray();
                chart.Series(legend, curve.Select(p => p.Ratio).ToArray(), curve.Select(p => Math.Max(p.Mean, Floor)).ToArray(),
                    curve.Select(p => Math.Max(p.Min, Floor)).ToArray(), curve.Select(p => Math.Max(p.Max, Floor)).ToArray());
            }
            Add($"flat (penalty continuation), L = {depth}", rows.Where(r => r.Text("method") == "flat" && r.Has("depth") && r.Integer("depth") == depth));
            Add("nuclear-norm minimisation", rows.Where(r => r.Text("method") == "nuclear"));
            Add("minimum-Frobenius interpolant", rows.Where(r => r.Text("method") == "min-frobenius"));
            Add($"gradient descent, large init, L = {depth}", rows.Where(r => r.Text("method") == "gd-large-init" && r.Has("depth") && r.Integer("depth") == depth));
            chart.HorizontalLine(RecoveredError, "recovery threshold");
            files.Add(chart.Save(directory, $"C4-recovery-L{depth}.png"));
        }
        return files;
    }
}
