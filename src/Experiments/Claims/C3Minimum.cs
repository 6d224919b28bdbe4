using Flatness.Solver.Randomness;
using Flatness.Kernels.Tensors;
using Flatness.Solver.Model;
using Flatness.Solver.Optimizers;
using Flatness.Solver.Problems;
using Flatness.Solver.Metrics;
using Flatness.Solver.Theory;

namespace Flatness.Experiments.Claims;

/// <summary>
/// C3: the least flatness over the factorisations of a fixed M is F(M) = L (d_0 d_L)^{1/L} ||M||_*^{2(L-1)/L}
/// (docs/MATH.md section 4). With the scaled full basis (RIP constant 0) the loss is ||E - M||_F^2 and tr H = 2G exactly,
/// so penalty continuation (min tr H + mu L with L-BFGS, mu growing) minimises tr H over the factorisations of M.
/// Descent over the hidden-layer changes of basis (<see cref="FibreDescent"/>) minimises it with E held fixed exactly.
/// Both should reach 2F(M), from a random start, the balanced factorisation or a random factorisation of M; the flattest factorisation
/// attains F(M) exactly; the balanced one does not (for rank one, G_bal / F = (d_0 + d_L + L - 2) / (L (d_0 d_L)^{1/L}),
/// 17/12 at L = 3, d = 8).
/// </summary>
internal sealed class C3Minimum : Claim
{
    public override string Id => "C3";
    public override string Title => "Minimum over factorisations";

    private static (int D0, int DL)[] Shapes(SweepSettings s) =>
        s.Pick(new[] { (4, 4) }, new[] { (8, 8), (8, 4) }, new[] { (8, 8), (8, 4), (12, 6) });
    private static int[] Ranks(SweepSettings s) => s.Pick(new[] { 1 }, new[] { 1, 2 }, new[] { 1, 2, 3 });

    private protected override IEnumerable<ResultRow> Configurations(SweepSettings settings)
    {
        foreach (var (d0, dl) in Shapes(settings))
            foreach (int rank in Ranks(settings))
                for (int depth = 2; depth <= 4; depth++)
                    yield return new ResultRow().Set("d0", d0).Set("dL", dl).Set("rank", rank).Set("depth", depth);
    }

    /// <summary>G_bal / F for a rank-one M (docs/MATH.md section 4).</summary>
    public static double BalancedRatioRankOne(int d0, int dl, int depth) =>
        (d0 + dl + depth - 2) / (depth * Math.Pow((double)d0 * dl, 1.0 / depth));

    internal override IReadOnlyList<ResultRow> Run(SweepCell cell, ExperimentContext context)
    {
        var p = cell.Parameters;
        int d0 = p.Integer("d0"), dl = p.Integer("dL"), rank = p.Integer("rank"), depth = p.Integer("depth");
        var problem = Generators.Basis(d0, dl, rank, seed: cell.SubSeed("problem"), asCompletion: true);
        var m = problem.GroundTruth!;
        double f = FlatnessTheory.F(m, depth);
        var dims = Initializers.Dims(d0, dl, depth);
        using var evaluator = context.CreateEvaluator(problem, dims);
        var rows = new List<ResultRow>();

        void Add(string factorisation, IReadOnlyList<Matrix<double>> layers, double predicted)
        {
            var metrics = PointMetrics.Compute(problem, new Factorization(layers), evaluator, 0);
            rows.Add(new ResultRow()
                .Set("factorisation", factorisation)
                .Set("F", f)
                .Set("g_over_f", metrics.FlatnessG / f)
                .Set("trace_over_2f", metrics.HessianTrace / (2 * f))
                .Set("predicted_g_over_f", predicted)
                .Set("rel_err_e", metrics.RelativeError!.Value));
        }

        Add("flattest", FlatnessTheory.FlattestFactorization(m, dims), 1.0);
        var balanced = FlatnessTheory.BalancedFactorization(m, dims);
        Add("balanced", balanced, rank == 1 ? BalancedRatioRankOne(d0, dl, depth) : double.NaN);

        var options = new PenaltyOptions { MaxSteps = context.Settings.Pick(3000, 6000, 20000), HistoryEvery = 0, LossTolerance = 1e-12, MaxStages = 14 };
        var fromRandom = new PenaltyContinuation(options).Run(evaluator, Initializers.Gaussian(dims, 1.0, cell.SubSeed("start")));
        Add("penalty, random start", fromRandom.Layers.Layers, 1.0);
        int fibreSteps = context.Settings.Pick(2000, 4000, 10000);
        Add("fibre descent, balanced start", FibreDescent.Minimize(evaluator, balanced, fibreSteps).Layers, 1.0);
        Add("fibre descent, random factorisation", FibreDescent.Minimize(evaluator, RandomChangeOfBasis(balanced, cell.SubSeed("basis")), fibreSteps).Layers, 1.0);
        return rows;
    }

    /// <summary>Another factorisation of the same M: W_j &lt;- X_j W_j X_{j-1}^{-1} with random X_j = exp(B_j), ||B_j||_F = 1.</summary>
    private static Matrix<double>[] RandomChangeOfBasis(Matrix<double>[] layers, int seed)
    {
        var rng = new NormalSampler(seed);
        var x = layers.Select(w => w.Clone()).ToArray();
        for (int j = 1; j < x.Length; j++)
        {
            int d = x[j - 1].Rows;
            var b = new Matrix<double>(d, d, rng.Draw(d * d, 1.0 / d));
            x[j - 1] = Kernels.Reference.ReferenceBlas.Multiply(FibreDescent.Exp(b), x[j - 1]);
            x[j] = Kernels.Reference.ReferenceBlas.Multiply(x[j], FibreDescent.Exp(Kernels.Reference.ReferenceBlas.Scale(b, -1)));
        }
        return x;
    }

    internal override ClaimVerdict Judge(IReadOnlyList<ResultRow> rows, SweepSettings settings)
    {
        ResultRow[] Of(string name) => rows.Where(r => r.Text("factorisation") == name).ToArray();
        var flattest = Of("flattest");
        var balanced = Of("balanced");
        var penalty = rows.Where(r => r.Text("factorisation").StartsWith("penalty", StringComparison.Ordinal)).ToArray();
        var fibre = rows.Where(r => r.Text("factorisation").StartsWith("fibre", StringComparison.Ordinal)).ToArray();

        double flatDev = flattest.Max(r => Math.Max(Math.Abs(r.Number("g_over_f") - 1), Math.Abs(r.Number("trace_over_2f") - 1)));
        var rankOne = balanced.Where(r => r.Integer("rank") == 1).ToArray();
        double formulaDev = rankOne.Length == 0 ? 0 : rankOne.Max(r => Math.Abs(r.Number("g_over_f") - r.Number("predicted_g_over_f")));
        var unequal = balanced.Where(r => r.Integer("depth") >= 3 || r.Integer("d0") != r.Integer("dL")).ToArray();
        double minBalancedExcess = unequal.Length == 0 ? double.NaN : unequal.Min(r => r.Number("g_over_f") - 1);
        double penaltyDev = penalty.Max(r => Math.Abs(r.Number("trace_over_2f") - 1));
        double penaltyErr = penalty.Max(r => r.Number("rel_err_e"));
        double fibreDev = fibre.Max(r => Math.Abs(r.Number("trace_over_2f") - 1));
        double fibreErr = fibre.Max(r => r.Number("rel_err_e"));
        var key = balanced.FirstOrDefault(r => r.Integer("rank") == 1 && r.Integer("depth") == 3 && r.Integer("d0") == 8 && r.Integer("dL") == 8);

        var v = new VerdictBuilder()
            .Number("flattest_max_abs_g_over_f_minus_1", flatDev)
            .Number("penalty_max_abs_trace_over_2f_minus_1", penaltyDev)
            .Number("penalty_max_rel_err_e", penaltyErr)
            .Number("fibre_max_abs_trace_over_2f_minus_1", fibreDev)
            .Number("fibre_max_rel_err_e", fibreErr)
            .Number("balanced_min_g_over_f_minus_1", minBalancedExcess)
            .Number("balanced_rank1_formula_max_abs_err", formulaDev);
        if (key is not null) v.Number("balanced_g_over_f_L3_d8_rank1", key.Number("g_over_f"));
        v.Headline($"reached tr H/2F(M) - 1: flattest {VerdictBuilder.F(flatDev)}, penalty {VerdictBuilder.F(penaltyDev)}, " +
                   $"change of basis {VerdictBuilder.F(fibreDev)}; balanced G/F >= 1 + {VerdictBuilder.F(minBalancedExcess)}" +
                   (key is null ? "" : $", {key.Number("g_over_f"):0.######} (= 17/12) at L = 3, d = 8, rank 1"));
        v.Check(flatDev <= 1e-9, $"the flattest factorisation attains F(M): max |G/F - 1|, |tr H/2F - 1| = {VerdictBuilder.F(flatDev)} <= 1e-9")
         .Check(penaltyDev <= 1e-3 && penaltyErr <= 1e-6,
            $"penalty continuation reaches tr H = 2F(M) at E = M: max |tr H/2F - 1| = {VerdictBuilder.F(penaltyDev)} <= 1e-3, max ||E-M||^2/||M||^2 = {VerdictBuilder.F(penaltyErr)} <= 1e-6")
         .Check(fibreDev <= 1e-3 && fibreErr <= 1e-20,
            $"descent over changes of basis (E fixed) reaches tr H = 2F(M): max |tr H/2F - 1| = {VerdictBuilder.F(fibreDev)} <= 1e-3 with ||E-M||^2/||M||^2 = {VerdictBuilder.F(fibreErr)}")
         .Check(formulaDev <= 1e-9, $"rank one: G_bal/F = (d0+dL+L-2)/(L (d0 dL)^(1/L)) to {VerdictBuilder.F(formulaDev)}")
         .Check(unequal.Length == 0 || minBalancedExcess > 1e-3,
            $"the balanced factorisation is not the flattest when L >= 3 or d0 != dL: min G_bal/F - 1 = {VerdictBuilder.F(minBalancedExcess)} > 1e-3");
        if (key is not null)
            v.Check(Math.Abs(key.Number("g_over_f") - 17.0 / 12) <= 1e-9, $"L = 3, d = 8, rank one: G_bal/F = {key.Number("g_over_f"):0.########} = 17/12");
        return v.Build();
    }

    internal override IReadOnlyList<string> Plot(IReadOnlyList<ResultRow> rows, string directory, SweepSettings settings)
    {
        var files = new List<string>();
        foreach (var shape in rows.GroupBy(r => (D0: r.Integer("d0"), DL: r.Integer("dL"))))
        {
            var chart = new Chart($"C3: flatness over factorisations of a fixed M (d0 = {shape.Key.D0}, dL = {shape.Key.DL})",
                "depth L", "tr H / 2F(M)  ( = G / F(M), basis sensing)").LegendAt(ScottPlot.Alignment.UpperLeft).IntegerTicksX();
            int[] depths = shape.Select(r => r.Integer("depth")).Distinct().Order().ToArray();
            foreach (int rank in shape.Select(r => r.Integer("rank")).Distinct().Order())
                AddMean(chart, $"balanced factorisation, rank {rank}", shape.Where(r => r.Text("factorisation") == "balanced" && r.Integer("rank") == rank), depths, 0);
            chart.Series("rank one: (d0 + dL + L - 2) / (L (d0 dL)^(1/L))", depths.Select(d => (double)d).ToArray(),
                depths.Select(d => BalancedRatioRankOne(shape.Key.D0, shape.Key.DL, d)).ToArray(), pattern: ScottPlot.LinePattern.Dotted, markers: false);
            AddMean(chart, "flattest construction", shape.Where(r => r.Text("factorisation") == "flattest"), depths, -0.06);
            AddMean(chart, "penalty continuation (L-BFGS), random start", shape.Where(r => r.Text("factorisation").StartsWith("penalty", StringComparison.Ordinal)), depths, 0.0);
            AddMean(chart, "descent over changes of basis (E fixed)", shape.Where(r => r.Text("factorisation").StartsWith("fibre", StringComparison.Ordinal)), depths, 0.06);
            chart.HorizontalLine(1, "F(M): the minimum");
            files.Add(chart.Save(directory, $"C3-factorisations-{shape.Key.D0}x{shape.Key.DL}.png"));
        }
        return files;
    }

    private static void AddMean(Chart chart, string legend, IEnumerable<ResultRow> rows, int[] depths, double shift)
    {
        var byDepth = depths.Select(d => rows.Where(r => r.Integer("depth") == d).Select(r => r.Number("trace_over_2f")).ToArray())
            .Where(v => v.Length > 0).ToArray();
        var x = depths.Where(d => rows.Any(r => r.Integer("depth") == d)).Select(d => d + shift).ToArray();
        chart.Series(legend, x, byDepth.Select(v => v.Average()).ToArray(), byDepth.Select(v => v.Min()).ToArray(), byDepth.Select(v => v.Max()).ToArray());
    }
}
