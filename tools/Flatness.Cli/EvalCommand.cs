using System.CommandLine;
using Flatness.Solver.Backends;
using System.Text.Json;
using Flatness.Solver.Metrics;
using Flatness.Solver.Problems;
using Spectre.Console;

namespace Flatness.Cli;

/// <summary>`flatness eval`: loss, exact Hessian trace and the flatness metrics of given layers on a problem.</summary>
internal static class EvalCommand
{
    public static Command Create()
    {
        var problemOption = new Option<string>("--problem") { Description = "Problem file (.npz: A and b, rows/cols/shape and b, or u/v and b; optional M_star)", Required = true };
        var layersOption = new Option<string>("--layers") { Description = "Layers file (.npz with W1 .. WL, W_j of shape (d_j, d_{j-1}))", Required = true };
        var lambdaOption = new Option<double>("--lambda") { Description = "Weight of the trace in the objective loss + lambda tr H", DefaultValueFactory = _ => 0.0 };
        lambdaOption.Validators.Add(result =>
        {
            // A token that is not a number at all is reported by the parser itself.
            if (result.Tokens.Count == 1 && double.TryParse(result.Tokens[0].Value, System.Globalization.CultureInfo.InvariantCulture, out double v)
                && !(double.IsFinite(v) && v >= 0))
                result.AddError($"--lambda must be a finite number >= 0, got {result.Tokens[0].Value}");
        });
        var gradOutOption = new Option<string?>("--grad-out") { Description = "Write the gradients (grad_loss_W1.., grad_trace_W1..) to this .npz file" };
        var jsonOption = new Option<bool>("--json") { Description = "Print one JSON object instead of a table" };
        var backendOption = ChoiceOptions.Backend();

        var command = new Command("eval", "Evaluate loss, exact Hessian trace and flatness metrics at given layers")
        {
            problemOption, layersOption, lambdaOption, gradOutOption, jsonOption, backendOption,
        };
        command.SetAction(parse => Cli.Guard(() => Run(
            parse.GetValue(problemOption)!, parse.GetValue(layersOption)!, parse.GetValue(lambdaOption),
            parse.GetValue(gradOutOption), parse.GetValue(jsonOption), parse.GetValue(backendOption))));
        return command;
    }

    private static int Run(string problemPath, string layersPath, double lambda, string? gradOut, bool json, BackendKind backend)
    {
        Output.CheckOutputs([gradOut], [problemPath, layersPath]);

        var problem = ProblemFiles.LoadProblem(problemPath);
        var layers = ProblemFiles.LoadLayers(layersPath, problem);
        PointMetrics metrics;
        using (var evaluator = Evaluators.Create(problem, layers.Dims, new EvaluatorOptions { Backend = backend, Warn = ChoiceOptions.Warn }))
            metrics = PointMetrics.Compute(problem, layers, evaluator, lambda, gradients: gradOut is not null);
        var overflowed = metrics.NonFinite;
        if (gradOut is not null && overflowed.FirstOrDefault(n => n.StartsWith("grad_", StringComparison.Ordinal)) is { } bad)
            throw new ArgumentException($"--grad-out {gradOut}: {bad} overflowed float64 at these layers, and the reader refuses non-finite arrays; nothing written");
        if (gradOut is not null) ProblemFiles.SaveGradients(gradOut, metrics.LossGradient, metrics.TraceGradient);
        Output.WarnNonFinite(overflowed);

        if (json) WriteJson(metrics, problemPath, layersPath, gradOut);
        else WriteTable(metrics, problemPath, layersPath, gradOut);
        return Cli.Ok;
    }

    private static void WriteJson(PointMetrics m, string problemPath, string layersPath, string? gradOut) => Output.Json(w =>
    {
        w.WriteString("problem", problemPath);
        w.WriteString("layers", layersPath);
        w.Number("loss", m.Loss);
        w.Number("hessian_trace", m.HessianTrace);
        w.Number("objective", m.Objective);
        w.Number("lambda", m.Lambda);
        w.Number("flatness_g", m.FlatnessG);
        w.Number("bound_f", m.BoundF);
        w.Number("trace_over_2g", m.TraceOver2G);
        w.Number("nuclear_norm", m.NuclearNorm);
        w.Number("frobenius_norm", m.FrobeniusNorm);
        w.Number("spectral_norm", m.SpectralNorm);
        w.Number("effective_rank", m.EffectiveRank);
        if (m.RelativeError is { } rel) w.Number("relative_error", rel);
        if (m.RelativeError is double squared) w.Number("relative_frobenius_error", Math.Sqrt(squared));
        w.WriteNumber("depth", m.Depth);
        w.WriteStartArray("dims");
        foreach (int d in m.Dims) w.WriteNumberValue(d);
        w.WriteEndArray();
        w.WriteNumber("n", m.Count);
        w.WriteString("measurement", m.Measurement.Name());
        w.WriteString("backend", m.Backend.Name());
        w.WriteString("path", m.Path.Name());
        w.WriteString("precision", m.Precision.Name());
        if (gradOut is not null) w.WriteString("grad_out", gradOut);
    });

    private static void WriteTable(PointMetrics m, string problemPath, string layersPath, string? gradOut)
    {
        var console = Output.Terminal();
        console.MarkupLine($"[bold]{Markup.Escape(problemPath)}[/]: {m.Measurement.Name()}, n = {m.Count}, " +
            $"d_L x d_0 = {m.Dims[^1]} x {m.Dims[0]}");
        console.MarkupLine($"[bold]{Markup.Escape(layersPath)}[/]: " + Markup.Escape($"depth {m.Depth}, dims [{string.Join(", ", m.Dims)}]"));
        console.MarkupLine(Markup.Escape($"backend {m.Backend.Name()} ({m.Path.Name()} path, {m.Precision.Name()})"));
        var table = new Table().Border(TableBorder.Rounded).AddColumn("quantity").AddColumn(new TableColumn("value").RightAligned());
        void Row(string name, double value) => table.AddRow(Markup.Escape(name), Output.Format(value));
        Row("loss L(W)", m.Loss);
        Row("Hessian trace tr H", m.HessianTrace);
        Row($"objective L + {Output.Format(m.Lambda)} tr H", m.Objective);
        Row("flatness G(W)", m.FlatnessG);
        Row("tr H / 2G", m.TraceOver2G);
        Row($"bound F(E) at depth {m.Depth}", m.BoundF);
        Row("||E||_* (nuclear)", m.NuclearNorm);
        Row("||E||_F (Frobenius)", m.FrobeniusNorm);
        Row("||E||_2 (spectral)", m.SpectralNorm);
        Row("effective rank of E", m.EffectiveRank);
        if (m.RelativeError is { } rel) Row("relative error ||E - M*||_F^2 / ||M*||_F^2", rel);
        console.Write(table);
        if (gradOut is not null) console.MarkupLine($"gradients written to [bold]{Markup.Escape(gradOut)}[/]");
    }
}
