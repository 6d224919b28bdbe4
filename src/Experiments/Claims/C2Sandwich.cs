using Flatness.Solver.Backends;
using Flatness.Solver.Model;
using Flatness.Solver.Optimizers;
using Flatness.Solver.Problems;
using Flatness.Solver.Metrics;
using Flatness.Solver.Theory;

namespace Flatness.Experiments.Claims;

/// <summary>
/// C2: the RIP sandwich 2(1 - delta) G &lt;= tr H &lt;= 2(1 + delta) G (docs/MATH.md section 4) for Gaussian sensing at several
/// n, with delta the measured rank-one RIP constant of the drawn operator (<see cref="Rip.Estimate"/>), at random
/// points of depths 2-4 and at trained points (gradient descent from a small initialisation, and the flattest
/// interpolant by penalty continuation). The ratio tr H / (2G) is a weighted mean of the rank-one form
/// (1/n) sum_i (u^T A_i v)^2, so it must lie in the bracket; it approaches 1 as n grows.
/// </summary>
internal sealed class C2Sandwich : Claim
{
    public override string Id => "C2";
    public override string Title => "RIP sandwich";

    private static int Dim(SweepSettings s) => s.Pick(4, 6, 10);
    private static int[] Counts(SweepSettings s) => s.Pick(new[] { 16, 64 }, new[] { 24, 48, 96, 192 }, new[] { 40, 80, 160, 320, 640, 1280 });
    private static int RandomPoints(SweepSettings s) => s.Pick(1, 2, 4);

    private protected override IEnumerable<ResultRow> Configurations(SweepSettings settings)
    {
        foreach (int n in Counts(settings)) yield return new ResultRow().Set("n", n);
    }

    internal override IReadOnlyList<ResultRow> Run(SweepCell cell, ExperimentContext context)
    {
        var s = context.Settings;
        int d = Dim(s), n = cell.Parameters.Integer("n");
        var problem = Generators.Gaussian(d, d, 1, n, seed: cell.SubSeed("problem"));
        var rip = Rip.Estimate(problem.Measurements, cell.SubSeed("rip"), restarts: s.Pick(2, 4, 8));
        var evaluators = new Dictionary<int, IEvaluator>();
        IEvaluator For(int depth)
        {
            if (!evaluators.TryGetValue(depth, out var e)) evaluators[depth] = e = context.CreateEvaluator(problem, Initializers.Dims(d, d, depth));
            return e;
        }
        var rows = new List<ResultRow>();

        void Add(string point, Factorization w)
        {
            var m = PointMetrics.Compute(problem, w, For(w.Depth), 0);
            rows.Add(new ResultRow()
                .Set("point", point)
                .Set("depth", w.Depth)
                .Set("delta", rip.Delta)
                .Set("q_min", rip.Lower)
                .Set("q_max", rip.Upper)
                .Set("loss", m.Loss)
                .Set("trace", m.HessianTrace)
                .Set("g", m.FlatnessG)
                .Set("ratio", m.TraceOver2G));
        }

        for (int depth = 2; depth <= 4; depth++)
            for (int k = 0; k < RandomPoints(s); k++)
                Add("random", Initializers.Gaussian(Initializers.Dims(d, d, depth), 1.0, cell.SubSeed($"random/{depth}/{k}")));

        for (int depth = 2; depth <= 3; depth++)
        {
            var start = Initializers.SmallBalanced(Initializers.Dims(d, d, depth), 0.05, cell.SubSeed($"gd/{depth}"));
            var gd = new GradientDescent(new GradientDescentOptions
            {
                LearningRate = 0.1, Backtracking = true, MaxSteps = s.Pick(300, 1000, 3000), LossTolerance = 1e-8, HistoryEvery = 0,
            }).Run(For(depth), start);
            Add("gd", gd.Layers);
        }
        var penalty = new PenaltyContinuation(new PenaltyOptions { MaxSteps = s.Pick(500, 2000, 5000), HistoryEvery = 0 })
            .Run(For(2), Initializers.Gaussian(Initializers.Dims(d, d, 2), 1.0, cell.SubSeed("penalty")));
        Add("penalty", penalty.Layers);
        foreach (var e in evaluators.Values) e.Dispose();
        return rows;
    }

    internal override ClaimVerdict Judge(IReadOnlyList<ResultRow> rows, SweepSettings settings)
    {
        // Position of each point in its own sandwich: |ratio - 1| / delta <= 1.
        double worst = rows.Max(r => Math.Abs(r.Number("ratio") - 1) / r.Number("delta"));
        int outside = rows.Count(r => Math.Abs(r.Number("ratio") - 1) > r.Number("delta"));
        int outsideBracket = rows.Count(r => r.Number("ratio") < r.Number("q_min") || r.Number("ratio") > r.Number("q_max"));
        var byN = rows.GroupBy(r => r.Number("n")).OrderBy(g => g.Key)
            .Select(g => (N: g.Key, Delta: g.Average(r => r.Number("delta")), Spread: g.Max(r => Math.Abs(r.Number("ratio") - 1)))).ToArray();
        var v = new VerdictBuilder()
            .Number("points", rows.Count)
            .Number("worst_abs_ratio_minus_1_over_delta", worst)
            .Number("points_outside_sandwich", outside)
            .Number("points_outside_measured_bracket", outsideBracket);
        v.Headline($"{rows.Count - outside}/{rows.Count} points inside; worst |tr H/2G - 1|/delta = {VerdictBuilder.F(worst)}; " +
                   $"delta {VerdictBuilder.F(byN[0].Delta)} (n = {byN[0].N}) to {VerdictBuilder.F(byN[^1].Delta)} (n = {byN[^1].N})");
        foreach (var (n, delta, spread) in byN)
        {
            v.Number($"delta_n{n}", delta);
            v.Number($"max_abs_ratio_minus_1_n{n}", spread);
        }
        return v
            .Check(outside == 0, $"all {rows.Count} points satisfy 2(1-delta)G <= tr H <= 2(1+delta)G (worst |tr H/2G - 1|/delta = {VerdictBuilder.F(worst)}, {outside} outside)")
            .Check(byN[^1].Delta < 1, $"the sandwich is informative at the largest n = {byN[^1].N}: delta = {VerdictBuilder.F(byN[^1].Delta)} < 1")
            .Check(byN.Length < 2 || byN[^1].Delta < byN[0].Delta,
                $"delta shrinks with n: {VerdictBuilder.F(byN[0].Delta)} at n = {byN[0].N} to {VerdictBuilder.F(byN[^1].Delta)} at n = {byN[^1].N}")
            .Build();
    }

    internal override IReadOnlyList<string> Plot(IReadOnlyList<ResultRow> rows, string directory, SweepSettings settings)
    {
        var chart = new Chart($"C2: tr H / 2G within [1 - delta, 1 + delta], Gaussian sensing, d = {Dim(settings)}",
            "number of measurements n", "tr H / (2 G)", logX: true);
        var byN = rows.GroupBy(r => r.Number("n")).OrderBy(g => g.Key).ToArray();
        var ns = byN.Select(g => g.Key).ToArray();
        chart.Series("1 + delta (measured)", ns, byN.Select(g => 1 + g.Average(r => r.Number("delta"))).ToArray(), pattern: ScottPlot.LinePattern.Dashed, markers: false);
        chart.Series("1 - delta (measured)", ns, byN.Select(g => 1 - g.Average(r => r.Number("delta"))).ToArray(), pattern: ScottPlot.LinePattern.Dashed, markers: false);
        foreach (var (point, shift) in new[] { ("random", 0.97), ("gd", 1.0), ("penalty", 1.03) })
        {
            var mine = rows.Where(r => r.Text("point") == point).ToArray();
            chart.Series(point == "random" ? "random points (L = 2..4)" : point == "gd" ? "gradient descent (L = 2, 3)" : "flattest interpolant (penalty, L = 2)",
                mine.Select(r => r.Number("n") * shift).ToArray(), mine.Select(r => r.Number("ratio")).ToArray(), connect: false);
        }
        chart.HorizontalLine(1, "tr H = 2G");
        return [chart.TicksXAt(ns).Save(directory, "C2-sandwich.png")];
    }
}
