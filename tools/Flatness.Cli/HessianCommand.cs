using System.CommandLine;
using System.Globalization;
using System.Text;
using Flatness.Solver.Backends;
using Flatness.Solver.Curvature;
using Flatness.Experiments;
using Flatness.Solver.IO;
using Flatness.Solver.Problems;
using Spectre.Console;

namespace Flatness.Cli;

/// <summary>
/// <c>flatness hessian</c>: the exact trace and per-layer traces, the top eigenvalues and lambda_min by Lanczos on the
/// exact Hessian-vector product, the full spectrum or a spectral density, trace estimators against the exact trace,
/// and H V for a given V.
/// </summary>
internal static class HessianCommand
{
    public static Command Create()
    {
        var problemOption = new Option<string>("--problem") { Description = "Problem file (.npz)", Required = true };
        var layersOption = new Option<string>("--layers") { Description = "Layers file (.npz with W1 .. WL) or a run file", Required = true };
        var topOption = new Option<int>("--top") { Description = "How many of the largest eigenvalues (Lanczos, converged to 1e-10 relative)", DefaultValueFactory = _ => 1 };
        var hvpOption = new Option<string?>("--hvp") { Description = "Direction file (.npz with V1 .. VL, the layers' shapes); needs --hvp-out" };
        var hvpOutOption = new Option<string?>("--hvp-out") { Description = "Write H V as HV1 .. HVL to this .npz file" };
        var spectrumOption = new Option<string>("--spectrum") { Description = "none, full (all eigenvalues, up to 5000 parameters) or density (stochastic Lanczos quadrature)", DefaultValueFactory = _ => "none" };
        spectrumOption.Validators.Add(result =>
        {
            string? value = result.GetValueOrDefault<string>();
            if (value is not ("none" or "full" or "density")) result.AddError($"--spectrum must be none, full or density, got '{value}'");
        });
        var estimateOption = new Option<string?>("--estimate") { Description = "Trace estimators to compare with the exact trace: hutchinson, hutch++, xtrace (comma separated)" };
        var matvecsOption = new Option<int>("--matvecs") { Description = "Largest estimator budget in Hessian-vector products (also run at 1/8, 1/4, 1/2 of it)", DefaultValueFactory = _ => 100 };
        var seedOption = new Option<int>("--seed") { Description = "Seed of the random vectors", DefaultValueFactory = _ => 0 };
        var plotOption = new Option<string?>("--plot") { Description = "Write a PNG of the density (or of the full spectrum) here, and its CSV beside it" };
        var backendOption = ChoiceOptions.Backend(BackendKind.Auto);
        var draftOption = ChoiceOptions.Draft();
        var jsonOption = new Option<bool>("--json") { Description = "Print one JSON object instead of a table" };
        foreach (var option in new[] { topOption, matvecsOption })
            option.Validators.Add(result =>
            {
                if (result.Tokens.Count == 1 && int.TryParse(result.Tokens[0].Value, out int v) && v < 1)
                    result.AddError($"{option.Name} must be at least 1, got {v}");
            });

        var command = new Command("hessian", "Exact curvature of the loss: trace, per-layer traces, top eigenvalues, lambda_min, spectrum, estimators, H V")
        {
            problemOption, layersOption, topOption, hvpOption, hvpOutOption, spectrumOption, estimateOption, matvecsOption, seedOption,
            plotOption, backendOption, draftOption, jsonOption,
        };
        command.SetAction(parse => Cli.Guard(() =>
        {
            string? estimates = parse.GetValue(estimateOption);
            var request = new HessianRequest
            {
                Top = parse.GetValue(topOption),
                Spectrum = parse.GetValue(spectrumOption) switch { "full" => SpectrumKind.Full, "density" => SpectrumKind.Density, _ => SpectrumKind.None },
                Estimators = estimates is null ? [] : estimates.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                    .Select(TraceEstimators.Parse).Distinct().ToArray(),
                Matvecs = parse.GetValue(matvecsOption),
                Seed = parse.GetValue(seedOption),
            };
            if (estimates is not null && request.Estimators.Count == 0) throw new ArgumentException("--estimate names no estimator (hutchinson, hutch++, xtrace)");
            return Run(parse.GetValue(problemOption)!, parse.GetValue(layersOption)!, request, parse.GetValue(hvpOption), parse.GetValue(hvpOutOption),
                parse.GetValue(plotOption), parse.GetValue(backendOption), parse.GetValue(draftOption) is not null, parse.GetValue(jsonOption));
        }));
        return command;
    }

    private static int Run(string problemPath, string layersPath, HessianRequest request, string? hvpPath, string? hvpOut, string? plot,
        BackendKind backend, bool draft, bool json)
    {
        if ((hvpPath is null) != (hvpOut is null)) throw new ArgumentException("--hvp and --hvp-out go together: a direction in, H V out");
        if (plot is not null && !plot.EndsWith(".png", StringComparison.OrdinalIgnoreCase)) throw new ArgumentException($"--plot {plot} must name a .png file");
        if (plot is not null && request.Spectrum == SpectrumKind.None) throw new ArgumentException("--plot draws a spectrum: add --spectrum density or --spectrum full");
        string? csv = plot is null ? null : Path.ChangeExtension(plot, ".csv");
        Output.CheckOutputs([hvpOut, plot, csv], [problemPath, layersPath, hvpPath]);

        var problem = ProblemFiles.LoadProblem(problemPath);
        var layers = ProblemFiles.LoadLayers(layersPath, problem);
        var direction = hvpPath is null ? null : ProblemFiles.LoadDirection(hvpPath, layers.Dims);
        HessianReport report;
        var options = new EvaluatorOptions { Backend = backend, Warn = ChoiceOptions.Warn };
        using (var evaluator = Evaluators.Create(problem, layers.Dims, options))
        {
            using var rough = draft
                ? Evaluators.Create(problem, layers.Dims, options with { Backend = evaluator.Backend, Path = evaluator.Path, Precision = Precision.F32 })
                : null;
            report = HessianAnalysis.Run(evaluator, layers.Layers, request, draft: rough);
            if (direction is not null) ProblemFiles.SaveChain(hvpOut!, "HV", evaluator.HessianVectorProduct(layers.Layers, direction));
        }
        if (plot is not null) WriteFigure(report, plot, csv!);

        if (json) WriteJson(report, layers.Layers.Sum(w => w.Length), hvpOut, plot, csv);
        else WriteTable(report, hvpOut, plot, csv);
        return Cli.Ok;
    }

    private static void WriteFigure(HessianReport report, string plot, string csv)
    {
        var text = new StringBuilder();
        Chart chart;
        if (report.Density is { } density)
        {
            text.AppendLine("eigenvalue,density");
            for (int i = 0; i < density.Grid.Length; i++)
                text.AppendLine(string.Create(CultureInfo.InvariantCulture, $"{density.Grid[i]:R},{density.Density[i]:R}"));
            chart = new Chart($"Hessian spectral density (stochastic Lanczos quadrature, sigma = {density.Sigma:G3})", "eigenvalue", "density")
                .Series("density", density.Grid, density.Density, markers: false);
        }
        else
        {
            var values = report.Eigenvalues!;
            text.AppendLine("index,eigenvalue");
            for (int i = 0; i < values.Length; i++) text.AppendLine(string.Create(CultureInfo.InvariantCulture, $"{i},{values[i]:R}"));
            chart = new Chart("Hessian spectrum (all eigenvalues, ascending)", "index", "eigenvalue")
                .Series("eigenvalues", Enumerable.Range(0, values.Length).Select(i => (double)i).ToArray(), values, connect: false);
        }
        chart.VerticalLine(report.Extremes.LambdaMax, "lambda_max");
        AtomicFile.Write(csv, stream => stream.Write(Encoding.UTF8.GetBytes(text.ToString())));
        string directory = Path.GetDirectoryName(Path.GetFullPath(plot))!;
        chart.Save(directory, Path.GetFileName(plot));
    }

    private static void WriteJson(HessianReport r, int parameters, string? hvpOut, string? plot, string? csv) => Output.Json(w =>
    {
        w.Number("trace", r.Trace);
        Array(w, "layer_traces", r.LayerTraces);
        Array(w, "top_eigenvalues", r.Extremes.Top);
        w.Number("lambda_max", r.Extremes.LambdaMax);
        w.Number("lambda_min", r.Extremes.LambdaMin);
        Array(w, "residual_norms", r.Extremes.TopResiduals);
        Array(w, "error_bounds", r.Extremes.TopErrorBounds);
        w.Number("lambda_min_residual", r.Extremes.LambdaMinResidual);
        w.WriteBoolean("converged", r.Extremes.Converged);
        w.WriteNumber("lanczos_iterations", r.Extremes.Iterations);
        w.WriteNumber("parameters", parameters);
        if (r.Eigenvalues is { } values) Array(w, "eigenvalues", values);
        if (r.Density is { } density)
        {
            w.WriteStartObject("density");
            w.Number("sigma", density.Sigma);
            Array(w, "grid", density.Grid);
            Array(w, "values", density.Density);
            w.WriteEndObject();
        }
        if (r.Estimates.Count > 0)
        {
            w.WriteStartArray("estimates");
            foreach (var e in r.Estimates)
            {
                w.WriteStartObject();
                w.WriteString("method", e.Estimate.Method.Name());
                w.WriteNumber("matvecs", e.Estimate.Matvecs);
                w.Number("estimate", e.Estimate.Estimate);
                if (e.Estimate.ErrorEstimate is { } error) w.Number("error_estimate", error);
                else w.WriteNull("error_estimate");
                w.Number("relative_error", e.RelativeError);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        if (hvpOut is not null) w.WriteString("hvp_out", hvpOut);
        if (plot is not null) { w.WriteString("plot", plot); w.WriteString("csv", csv); }
        w.WriteNumber("matvecs", r.Matvecs);
        w.WriteNumber("draft_matvecs", r.DraftMatvecs);
        w.Number("seconds", r.Seconds);
    });

    private static void Array(System.Text.Json.Utf8JsonWriter w, string name, IEnumerable<double> values)
    {
        w.WriteStartArray(name);
        foreach (double v in values)
        {
            if (double.IsFinite(v)) w.WriteNumberValue(v);
            else w.WriteNullValue();
        }
        w.WriteEndArray();
    }

    private static void WriteTable(HessianReport r, string? hvpOut, string? plot, string? csv)
    {
        var console = Output.Terminal();
        var table = new Table().AddColumn("quantity").AddColumn("value");
        table.AddRow("trace (exact)", Output.Format(r.Trace));
        table.AddRow("layer traces", string.Join(", ", r.LayerTraces.Select(Output.Format)));
        table.AddRow("top eigenvalues", string.Join(", ", r.Extremes.Top.Select(Output.Format)));
        table.AddRow("lambda_min", Output.Format(r.Extremes.LambdaMin));
        table.AddRow("largest residual norm", Output.Format(r.Extremes.TopResiduals.Append(r.Extremes.LambdaMinResidual).Max()));
        table.AddRow("Lanczos", r.Extremes.Converged ? $"converged in {r.Extremes.Iterations} iterations" : $"not converged after {r.Extremes.Iterations} iterations");
        if (r.Eigenvalues is { } values) table.AddRow("eigenvalues", $"{values.Length}, from {Output.Format(values[0])} to {Output.Format(values[^1])}");
        table.AddRow("Hessian-vector products", r.DraftMatvecs > 0
            ? $"{r.Matvecs.ToString(CultureInfo.InvariantCulture)} float64 + {r.DraftMatvecs.ToString(CultureInfo.InvariantCulture)} float32 (draft)"
            : r.Matvecs.ToString(CultureInfo.InvariantCulture));
        table.AddRow("seconds", Output.Format(r.Seconds));
        console.Write(table);
        if (r.Estimates.Count > 0)
        {
            var estimates = new Table().AddColumns("estimator", "matvecs", "estimate", "its error estimate", "true relative error");
            foreach (var e in r.Estimates)
                estimates.AddRow(e.Estimate.Method.Name(), e.Estimate.Matvecs.ToString(CultureInfo.InvariantCulture), Output.Format(e.Estimate.Estimate),
                    e.Estimate.ErrorEstimate is { } error ? Output.Format(error) : "-", Output.Format(e.RelativeError));
            console.Write(estimates);
        }
        if (hvpOut is not null) console.WriteLine($"H V written to {hvpOut}");
        if (plot is not null) console.WriteLine($"figure {plot}, values {csv}");
    }
}
