using Flatness.Kernels.Linalg;
using Flatness.Kernels.Tensors;
using Flatness.Solver.Backends;
using Flatness.Solver.Baselines;
using Flatness.Solver.Model;
using Flatness.Solver.Optimizers;
using Flatness.Solver.Problems;
using Flatness.Solver.Randomness;
using Flatness.Solver.Theory;

namespace Flatness.Experiments.Claims;

/// <summary>
/// C8 (beyond the paper): matrix completion at depth 2, where no RIP holds. The minimum of tr H over factorisations of M
/// is (4 s^2 / n) ||D_p^{1/2} M D_q^{1/2}||_* (<see cref="CompletionFlatness"/>), a trace norm weighted by the observation
/// counts, not the nuclear norm. With uniform sampling the weights are nearly constant and the flattest interpolant
/// (penalty continuation) tracks the nuclear-norm interpolant; with power-law row sampling the two interpolants differ.
/// Each cell draws one problem and computes both; the closed form is checked against the exact trace at its own
/// minimiser, and the flattest interpolant against the closed form at its end-to-end matrix.
/// </summary>
internal sealed class C8CompletionWithoutRip : Claim
{
    public override string Id => "C8";
    public override string Title => "completion without RIP";

    private static int Dim(SweepSettings s) => s.Pick(6, 10, 16);
    private static int Rank(SweepSettings s) => s.Pick(1, 1, 2);
    private static double[] Ratios(SweepSettings s) => s.Pick(new[] { 2.0, 4.0 }, new[] { 2.0, 3.0, 4.0, 6.0, 8.0 }, new[] { 2.0, 3.0, 4.0, 6.0, 8.0, 12.0 });
    private static readonly string[] Samplings = ["uniform", "power-law"];

    /// <summary>Power-law rows: row a is drawn with probability proportional to (a + 1)^-Exponent.</summary>
    public const double Exponent = 1.0;

    private protected override IEnumerable<ResultRow> Configurations(SweepSettings settings)
    {
        foreach (string sampling in Samplings)
            foreach (double ratio in Ratios(settings))
                yield return new ResultRow().Set("sampling", sampling).Set("ratio", ratio);
    }

    /// <summary>n observations (with replacement) of a d x d matrix: rows uniform or power-law, columns uniform.</summary>
    internal static CompletionMeasurements Sample(int d, int n, bool powerLaw, NormalSampler rng)
    {
        var weights = Enumerable.Range(0, d).Select(a => powerLaw ? Math.Pow(a + 1, -Exponent) : 1.0).ToArray();
        double total = weights.Sum();
        var rows = new int[n];
        var cols = new int[n];
        for (int i = 0; i < n; i++)
        {
            double u = rng.NextUniform() * total;
            int a = 0;
            while (a < d - 1 && u >= weights[a]) u -= weights[a++];
            rows[i] = a;
            cols[i] = rng.NextInt(d);
        }
        return new CompletionMeasurements(d, d, rows, cols, scale: 1.0);
    }

    internal override IReadOnlyList<ResultRow> Run(SweepCell cell, ExperimentContext context)
    {
        var s = context.Settings;
        int d = Dim(s), rank = Rank(s);
        double ratio = cell.Parameters.Number("ratio");
        bool powerLaw = cell.Parameters.Text("sampling") == "power-law";
        int n = (int)Math.Round(ratio * rank * 2 * d);
        var rng = new NormalSampler(cell.SubSeed("problem"));
        var truth = Generators.LowRank(d, d, rank, rng);
        var m = Sample(d, n, powerLaw, rng);
        var problem = Generators.Label(m, truth, 0.0, rng);
        var dims = Initializers.Dims(d, d, 2);

        var nuclear = NuclearNormMinimization.Solve(problem, new NuclearOptions { Tolerance = 1e-9 }).Solution;
        using var evaluator = context.CreateEvaluator(problem, dims);
        var flat = new PenaltyContinuation(new PenaltyOptions { MaxSteps = s.Pick(2000, 6000, 20000), HistoryEvery = 0 })
            .Run(evaluator, Initializers.Gaussian(dims, 1.0, cell.SubSeed("start"))).Layers;
        var eFlat = SolverEndToEnd(flat.Layers);
        double truthNorm = MatrixNorms.Frobenius(truth);
        double Error(Matrix<double> e) => Math.Pow(Distance(e, truth) / truthNorm, 2);

        double traceFlat = evaluator.Evaluate(flat.Layers, Quantities.Trace).Trace;
        double closedFormFlat = CompletionFlatness.MinimumTrace(m, eFlat);
        bool covered = CompletionFlatness.Covers(m);
        double closedFormError = double.NaN;
        if (covered)
        {
            // The closed form at the flattest interpolant's E against the exact trace at its constructed minimiser.
            var minimiser = CompletionFlatness.FlattestFactorization(m, eFlat, d);
            double exact = evaluator.Evaluate(minimiser, Quantities.Trace).Trace;
            closedFormError = Math.Abs(exact - closedFormFlat) / closedFormFlat;
        }
        var (rowCounts, _) = CompletionFlatness.Counts(m);
        return
        [
            new ResultRow()
                .Set("n", n).Set("d", d).Set("rank", rank)
                .Set("covered", covered ? 1 : 0)
                .Set("row_count_max_over_min", rowCounts.Max() / (double)Math.Max(1, rowCounts.Min()))
                .Set("flat_error", Error(eFlat))
                .Set("nuclear_error", Error(nuclear))
                .Set("flat_vs_nuclear", Distance(eFlat, nuclear) / truthNorm)
                .Set("flat_trace", traceFlat)
                .Set("closed_form_at_flat", closedFormFlat)
                .Set("closed_form_error", closedFormError)
                .Set("flat_nuclear_norm", MatrixNorms.Nuclear(eFlat))
                .Set("nuclear_nuclear_norm", MatrixNorms.Nuclear(nuclear))
                .Set("flat_weighted_norm", MatrixNorms.Nuclear(CompletionFlatness.Weighted(m, eFlat)))
                .Set("nuclear_weighted_norm", MatrixNorms.Nuclear(CompletionFlatness.Weighted(m, nuclear))),
        ];
    }

    private static Matrix<double> SolverEndToEnd(IReadOnlyList<Matrix<double>> layers) =>
        Kernels.Cpu.Gemm.Multiply(layers[1], layers[0]);

    private static double Distance(Matrix<double> a, Matrix<double> b)
    {
        double sum = 0;
        for (int t = 0; t < a.Data.Length; t++) sum += (a.Data[t] - b.Data[t]) * (a.Data[t] - b.Data[t]);
        return Math.Sqrt(sum);
    }

    internal override ClaimVerdict Judge(IReadOnlyList<ResultRow> rows, SweepSettings settings)
    {
        var covered = rows.Where(r => r.Number("covered") == 1).ToArray();
        double closedForm = covered.Length == 0 ? double.NaN : covered.Max(r => r.Number("closed_form_error"));
        var attained = rows.Select(r => r.Number("flat_trace") / r.Number("closed_form_at_flat")).ToArray();
        double Mean(string sampling, string field) => rows.Where(r => r.Text("sampling") == sampling).Average(r => r.Number(field));
        double uniformGap = Mean("uniform", "flat_vs_nuclear"), powerGap = Mean("power-law", "flat_vs_nuclear");
        // Which interpolant is smaller in which norm: each minimises its own (flat the weighted one, nuclear the plain one).
        int weightedWins = rows.Count(r => r.Number("flat_weighted_norm") <= r.Number("nuclear_weighted_norm") * (1 + 1e-4));
        int nuclearWins = rows.Count(r => r.Number("nuclear_nuclear_norm") <= r.Number("flat_nuclear_norm") * (1 + 1e-4));
        var v = new VerdictBuilder()
            .Number("cells", rows.Count)
            .Number("closed_form_max_relative_error", closedForm)
            .Number("flat_trace_over_closed_form_max", attained.Max())
            .Number("flat_trace_over_closed_form_min", attained.Min())
            .Number("mean_flat_vs_nuclear_uniform", uniformGap)
            .Number("mean_flat_vs_nuclear_power_law", powerGap)
            .Number("mean_flat_error_uniform", Mean("uniform", "flat_error"))
            .Number("mean_nuclear_error_uniform", Mean("uniform", "nuclear_error"))
            .Number("mean_flat_error_power_law", Mean("power-law", "flat_error"))
            .Number("mean_nuclear_error_power_law", Mean("power-law", "nuclear_error"));
        v.Headline($"min tr H = (4 s^2/n)||D_p^1/2 M D_q^1/2||_* to {VerdictBuilder.F(closedForm)}; ||E_flat - E_nuclear||/||M*||: " +
                   $"uniform {VerdictBuilder.F(uniformGap)}, power-law {VerdictBuilder.F(powerGap)}");
        return v
            .Check(covered.Length > 0 && closedForm <= 1e-8,
                $"the closed form equals the exact trace at its minimiser in all {covered.Length} fully observed cells (worst relative error {VerdictBuilder.F(closedForm)})")
            .Check(attained.Min() >= 1 - 1e-6 && attained.Max() <= 1 + 1e-2,
                $"the flattest interpolant attains the closed form of its own E: tr H / closed form in [{VerdictBuilder.F(attained.Min())}, {VerdictBuilder.F(attained.Max())}]")
            .Check(weightedWins == rows.Count && nuclearWins == rows.Count,
                $"each interpolant is the smaller in its own norm: flat in the weighted trace norm in {weightedWins}/{rows.Count} cells, nuclear in the nuclear norm in {nuclearWins}/{rows.Count}")
            .Check(powerGap > 2 * uniformGap,
                $"power-law sampling separates the two interpolants: mean ||E_flat - E_nuclear||/||M*|| {VerdictBuilder.F(powerGap)} vs {VerdictBuilder.F(uniformGap)} uniform (more than twice)")
            .Build();
    }

    /// <summary>Errors below this are drawn at it.</summary>
    private const double Floor = 1e-12;

    internal override IReadOnlyList<string> Plot(IReadOnlyList<ResultRow> rows, string directory, SweepSettings settings)
    {
        var chart = new Chart($"C8: completion at depth 2, d = {Dim(settings)}, rank {Rank(settings)}: flattest vs nuclear-norm interpolant",
            "n / (r (d0 + dL))", "test error ||E - M*||_F^2 / ||M*||_F^2 (mean; floor 1e-12)", logY: true).LegendAt(ScottPlot.Alignment.LowerLeft);
        foreach (string sampling in Samplings)
            foreach (var (field, name) in new[] { ("flat_error", "flattest (penalty)"), ("nuclear_error", "nuclear norm") })
            {
                var curve = rows.Where(r => r.Text("sampling") == sampling).GroupBy(r => r.Number("ratio")).OrderBy(g => g.Key).ToArray();
                chart.Series($"{name}, {sampling} rows", curve.Select(g => g.Key).ToArray(),
                    curve.Select(g => Math.Max(g.Average(r => r.Number(field)), Floor)).ToArray(),
                    pattern: sampling == "uniform" ? ScottPlot.LinePattern.Solid : ScottPlot.LinePattern.Dashed);
            }
        return [chart.Save(directory, "C8-completion.png")];
    }
}
