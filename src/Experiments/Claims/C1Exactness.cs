using Flatness.Kernels.Tensors;
using Flatness.Solver.Backends;
using Flatness.Solver.Model;
using Flatness.Solver.Problems;

namespace Flatness.Experiments.Claims;

/// <summary>
/// C1: the closed-form trace of the Hessian (docs/MATH.md section 2) equals the sum of the Hessian diagonal, and its gradient
/// equals the derivative of the trace, at random points (not minima), for every measurement type and depths 1-4.
/// The reference values are central differences: of the analytic loss gradient (each diagonal entry of the Hessian)
/// and of the trace itself (each entry of its gradient). Because every f_i is linear in each parameter separately,
/// the loss and the trace are quadratic along each coordinate, so these coordinate-wise central differences are exact
/// up to rounding: any difference beyond round-off exposes a wrong formula, not a truncation error.
/// </summary>
internal sealed class C1Exactness : Claim
{
    public override string Id => "C1";
    public override string Title => "Exact Hessian trace";

    public static readonly string[] Kinds = ["gaussian", "completion", "rank-one"];

    /// <summary>Largest relative error accepted: far above round-off, far below any formula error.</summary>
    public static double Tolerance(Precision precision) => precision == Precision.F32 ? 1e-4 : 1e-6;

    private static double Step(Precision precision) => precision == Precision.F32 ? 1e-2 : 1e-3;

    private protected override IEnumerable<ResultRow> Configurations(SweepSettings settings)
    {
        foreach (var kind in Kinds)
            for (int depth = 1; depth <= 4; depth++)
                yield return new ResultRow().Set("kind", kind).Set("depth", depth);
    }

    /// <summary>Problem size: d_0, d_L, n.</summary>
    private static (int D0, int DL, int N) Size(SweepSettings s) => s.Pick((3, 2, 6), (4, 3, 12), (6, 5, 40));

    internal override IReadOnlyList<ResultRow> Run(SweepCell cell, ExperimentContext context)
    {
        var (d0, dl, n) = Size(context.Settings);
        string kind = cell.Parameters.Text("kind");
        int depth = cell.Parameters.Integer("depth");
        int seed = cell.SubSeed("problem");
        var problem = kind switch
        {
            "gaussian" => Generators.Gaussian(d0, dl, 1, n, seed: seed),
            "completion" => Generators.Completion(d0, dl, 1, n, seed: seed),
            "rank-one" => Generators.RankOne(d0, dl, 1, n, seed: seed),
            _ => throw new ArgumentException($"unknown measurement kind '{kind}'"),
        };
        // Hidden widths differ from each other and from d_0, d_L, so that no shape mix-up can cancel out.
        var dims = new int[depth + 1];
        dims[0] = d0;
        for (int j = 1; j < depth; j++) dims[j] = d0 + j + 1;
        dims[depth] = dl;
        var layers = Initializers.Gaussian(dims, 1.0, cell.SubSeed("point")).Layers;

        using var evaluator = context.CreateEvaluator(problem, dims);
        var at = evaluator.Evaluate(layers, Quantities.All);
        double h = Step(context.Settings.Precision);

        double diagonalSum = 0, gradErr2 = 0, gradNorm2 = 0;
        int parameters = 0;
        for (int k = 0; k < layers.Length; k++)
            for (int t = 0; t < layers[k].Length; t++)
            {
                double saved = layers[k].Data[t];
                layers[k].Data[t] = saved + h;
                var plus = evaluator.Evaluate(layers, Quantities.Trace | Quantities.LossGradient);
                layers[k].Data[t] = saved - h;
                var minus = evaluator.Evaluate(layers, Quantities.Trace | Quantities.LossGradient);
                layers[k].Data[t] = saved;

                diagonalSum += (plus.LossGradient![k].Data[t] - minus.LossGradient![k].Data[t]) / (2 * h);
                double fd = (plus.Trace - minus.Trace) / (2 * h);
                double analytic = at.TraceGradient![k].Data[t];
                gradErr2 += (fd - analytic) * (fd - analytic);
                gradNorm2 += analytic * analytic;
                parameters++;
            }

        return
        [
            new ResultRow()
                .Set("parameters", parameters)
                .Set("loss", at.Loss)
                .Set("trace", at.Trace)
                .Set("trace_fd", diagonalSum)
                .Set("trace_rel_err", Math.Abs(diagonalSum - at.Trace) / Math.Abs(at.Trace))
                .Set("trace_grad_norm", Math.Sqrt(gradNorm2))
                // At depth 1 the trace does not depend on W: its gradient is zero and the error is absolute.
                .Set("trace_grad_rel_err", gradNorm2 > 0 ? Math.Sqrt(gradErr2 / gradNorm2) : Math.Sqrt(gradErr2)),
        ];
    }

    internal override ClaimVerdict Judge(IReadOnlyList<ResultRow> rows, SweepSettings settings)
    {
        double tol = Tolerance(settings.Precision);
        double worstTrace = rows.Max(r => r.Number("trace_rel_err"));
        double worstGrad = rows.Max(r => r.Number("trace_grad_rel_err"));
        int depths = rows.Select(r => r.Integer("depth")).Distinct().Count();
        int kinds = rows.Select(r => r.Text("kind")).Distinct().Count();
        return new VerdictBuilder()
            .Number("worst_trace_rel_err", worstTrace)
            .Number("worst_trace_grad_rel_err", worstGrad)
            .Number("tolerance", tol)
            .Number("points", rows.Count)
            .Headline($"worst relative error: trace {VerdictBuilder.F(worstTrace)}, trace gradient {VerdictBuilder.F(worstGrad)} " +
                      $"(tolerance {VerdictBuilder.F(tol)}; {rows.Count} random points, {kinds} measurement types, {depths} depths)")
            .Check(worstTrace <= tol, $"trace vs sum of FD Hessian diagonal: worst relative error {VerdictBuilder.F(worstTrace)} <= {VerdictBuilder.F(tol)}")
            .Check(worstGrad <= tol, $"trace gradient vs FD of the trace: worst relative error {VerdictBuilder.F(worstGrad)} <= {VerdictBuilder.F(tol)}")
            .Check(!rows.Any(r => double.IsNaN(r.Number("trace_rel_err")) || double.IsNaN(r.Number("trace_grad_rel_err"))), "no NaN")
            .Check(kinds == Kinds.Length && depths == 4, $"{rows.Count} random points over {kinds} measurement types and {depths} depths")
            .Build();
    }

    internal override IReadOnlyList<string> Plot(IReadOnlyList<ResultRow> rows, string directory, SweepSettings settings)
    {
        var chart = new Chart("C1: closed-form trace vs finite differences (random points)", "depth L", "relative error", logY: true);
        for (int k = 0; k < Kinds.Length; k++)
        {
            var mine = rows.Where(r => r.Text("kind") == Kinds[k]).ToArray();
            var x = mine.Select(r => r.Number("depth") + 0.08 * (k - 1)).ToArray();
            chart.Series($"trace, {Kinds[k]}", x, mine.Select(r => Math.Max(r.Number("trace_rel_err"), 1e-17)).ToArray(), connect: false);
            chart.Series($"gradient, {Kinds[k]}", x, mine.Select(r => Math.Max(r.Number("trace_grad_rel_err"), 1e-17)).ToArray(), connect: false);
        }
        chart.HorizontalLine(Tolerance(settings.Precision), "tolerance");
        chart.IntegerTicksX();
        return [chart.Save(directory, "C1-exactness.png")];
    }
}
