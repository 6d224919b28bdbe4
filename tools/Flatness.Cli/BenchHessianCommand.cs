using System.CommandLine;
using Flatness.Solver.Backends;
using Flatness.Solver.Benchmarking;
using Spectre.Console;

namespace Flatness.Cli;

/// <summary><c>flatness bench hessian</c>: seconds to lambda_max (Lanczos to 1e-10 on the exact Hessian-vector product).</summary>
internal static class BenchHessianCommand
{
    public static Command Create()
    {
        var dOption = new Option<int>("--d") { Description = "d_0 = d_L = every hidden width", DefaultValueFactory = _ => 50 };
        var depthOption = new Option<int>("--depth") { Description = "Number of layers L", DefaultValueFactory = _ => 3 };
        var nOption = new Option<int>("--n") { Description = "Number of Gaussian measurements", DefaultValueFactory = _ => 2000 };
        var toleranceOption = new Option<double>("--tolerance") { Description = "Error bound of lambda_max (min(r, r^2 / gap), r the Ritz residual), relative to lambda_max", DefaultValueFactory = _ => 1e-10 };
        var repeatsOption = new Option<int>("--repeats") { Description = "Timed runs (median reported)", DefaultValueFactory = _ => 7 };
        var seedOption = new Option<int>("--seed") { Description = "Seed of the problem, the layers and the start vector", DefaultValueFactory = _ => 0 };
        var backendOption = ChoiceOptions.Backend(BackendKind.Cpu);
        var pathOption = ChoiceOptions.Path();
        var saveOption = new Option<string?>("--save") { Description = "Write the problem and the point as DIR/problem.npz and DIR/layers.npz (for a peer tool)" };
        var draftOption = ChoiceOptions.Draft();
        var jsonOption = new Option<bool>("--json") { Description = "Print one JSON object instead of a table" };
        var command = new Command("hessian", "Time lambda_max of the loss Hessian by Lanczos on the exact Hessian-vector product")
        {
            dOption, depthOption, nOption, toleranceOption, repeatsOption, seedOption, backendOption, pathOption, draftOption, saveOption, jsonOption,
        };
        command.SetAction(parse => Cli.Guard(() =>
        {
            int d = parse.GetValue(dOption), depth = parse.GetValue(depthOption), n = parse.GetValue(nOption), seed = parse.GetValue(seedOption);
            if (parse.GetValue(saveOption) is { } directory) Output.SavePoint(directory, HessianBenchmark.Point(d, depth, n, seed));
            var r = HessianBenchmark.Run(d, depth, n, parse.GetValue(toleranceOption), parse.GetValue(repeatsOption), seed,
                new EvaluatorOptions { Backend = parse.GetValue(backendOption), Path = parse.GetValue(pathOption), Warn = ChoiceOptions.Warn },
                parse.GetValue(draftOption));
            if (parse.GetValue(jsonOption))
                Output.Json(w =>
                {
                    w.WriteString("backend", r.Backend.Name());
                    w.WriteString("path", r.Path.Name());
                    w.WriteNumber("d", r.Dim);
                    w.WriteNumber("depth", r.Depth);
                    w.WriteNumber("n", r.Count);
                    w.WriteNumber("parameters", r.Parameters);
                    w.Number("lambda_max", r.LambdaMax);
                    w.Number("residual", r.Residual);
                    w.Number("tolerance", r.Tolerance);
                    w.WriteNumber("matvecs", r.Matvecs);
                    w.Number("seconds", r.SecondsMedian);
                    w.Number("seconds_min", r.SecondsMin);
                    w.Number("setup_seconds", r.SetupSeconds);
                    w.Number("hvp_seconds", r.HvpSeconds);
                    w.Number("bytes_per_product", r.BytesPerProduct);
                    w.Number("stream_seconds", r.StreamSeconds);
                    if (r.Draft is { } draft) w.WriteString("draft", draft.Name());
                    else w.WriteNull("draft");
                    w.WriteNumber("draft_matvecs", r.DraftMatvecs);
                    w.Number("draft_hvp_seconds", r.DraftHvpSeconds);
                    w.Number("floor_seconds", r.FloorSeconds);
                });
            else
            {
                var table = new Table().AddColumn("quantity").AddColumn("value");
                table.AddRow("backend / path", $"{r.Backend.Name()} / {r.Path.Name()}");
                table.AddRow("problem", $"Gaussian, d = {r.Dim}, depth = {r.Depth}, n = {r.Count} ({r.Parameters} parameters)");
                table.AddRow("lambda_max", Output.Format(r.LambdaMax));
                table.AddRow("residual / lambda_max", Output.Format(r.Residual / r.LambdaMax));
                table.AddRow("Hessian-vector products", r.Draft is { } dp ? $"{r.Matvecs} f64 + {r.DraftMatvecs} {dp.Name()} (draft)" : r.Matvecs.ToString());
                table.AddRow("seconds to lambda_max (median)", Output.Format(r.SecondsMedian));
                table.AddRow("seconds per product", Output.Format(r.HvpSeconds));
                table.AddRow("reading its bytes once (floor)", $"{Output.Format(r.StreamSeconds)} s for {Output.Format(r.BytesPerProduct / 1e6)} MB");
                table.AddRow("every product's bytes once (floor of a run)", $"{Output.Format(r.FloorSeconds)} s");
                table.AddRow("setup seconds", Output.Format(r.SetupSeconds));
                Output.Terminal().Write(table);
            }
            return Cli.Ok;
        }));
        return command;
    }
}
