using System.CommandLine;
using Flatness.Solver.Backends;
using Flatness.Solver.Benchmarking;
using Spectre.Console;

namespace Flatness.Cli;

/// <summary>`flatness bench objective`: seconds per objective-plus-gradient evaluation on a Gaussian problem.</summary>
internal static class BenchObjectiveCommand
{
    public static Command Create()
    {
        var dOption = new Option<int>("--d") { Description = "d_0 = d_L = every hidden width", Required = true };
        var depthOption = new Option<int>("--depth") { Description = "Number of layers L", Required = true };
        var nOption = new Option<int>("--n") { Description = "Number of Gaussian measurements", Required = true };
        var precisionOption = ChoiceOptions.Precision();
        var backendOption = ChoiceOptions.Backend(BackendKind.Auto);
        var pathOption = ChoiceOptions.Path();
        var repeatsOption = new Option<int>("--repeats") { Description = "Timed samples (median reported)", DefaultValueFactory = _ => 7 };
        var seedOption = new Option<int>("--seed") { Description = "Seed of the problem and the layers", DefaultValueFactory = _ => 0 };
        var jsonOption = new Option<bool>("--json") { Description = "Print one JSON object instead of a table" };
        var saveOption = new Option<string?>("--save") { Description = "Write the problem and the point as DIR/problem.npz and DIR/layers.npz (for a peer tool)" };
        foreach (var option in new[] { dOption, depthOption, nOption, repeatsOption })
            option.Validators.Add(result =>
            {
                if (result.Tokens.Count == 1 && int.TryParse(result.Tokens[0].Value, out int v) && v < 1)
                    result.AddError($"{option.Name} must be at least 1, got {v}");
            });

        var command = new Command("objective", "Time one objective-plus-gradient evaluation (loss, trace, both gradients); setup timed separately")
        {
            dOption, depthOption, nOption, precisionOption, backendOption, pathOption, repeatsOption, seedOption, saveOption, jsonOption,
        };
        command.SetAction(parse => Cli.Guard(() =>
        {
            if (parse.GetValue(saveOption) is { } directory)
                Output.SavePoint(directory, ObjectiveBenchmark.Point(parse.GetValue(dOption), parse.GetValue(depthOption), parse.GetValue(nOption), parse.GetValue(seedOption)));
            var result = ObjectiveBenchmark.Run(parse.GetValue(dOption), parse.GetValue(depthOption), parse.GetValue(nOption),
                parse.GetValue(precisionOption), parse.GetValue(backendOption), parse.GetValue(pathOption),
                parse.GetValue(repeatsOption), parse.GetValue(seedOption), ChoiceOptions.Warn);
            if (parse.GetValue(jsonOption)) WriteJson(result);
            else WriteTable(result);
            return Cli.Ok;
        }));
        return command;
    }

    private static void WriteJson(ObjectiveBenchmarkResult r) => Output.Json(w =>
    {
        w.Number("seconds_per_eval", r.SecondsPerEval);
        w.Number("seconds_min", r.SecondsMin);
        w.Number("seconds_max", r.SecondsMax);
        w.Number("setup_seconds", r.SetupSeconds);
        w.Number("cpu_seconds_per_eval", r.CpuSecondsPerEval);
        w.WriteString("path", r.Path.Name());
        w.WriteString("backend", r.Backend.Name());
        w.WriteString("precision", r.Precision.Name());
        w.WriteNumber("d", r.Dim);
        w.WriteNumber("depth", r.Depth);
        w.WriteNumber("n", r.Count);
        w.WriteNumber("repeats", r.Repeats);
        w.WriteString("reason", r.Reason);
        w.Number("loss", r.Loss);
        w.Number("trace", r.Trace);
        w.Number("bytes_per_eval", r.BytesPerEval);
        w.Number("gb_per_second", r.BytesPerSecond / 1e9);
        w.Number("stream_seconds", r.StreamSeconds);
        w.Number("stream_gb_per_second", r.StreamBytesPerSecond / 1e9);
        w.Number("ratio_to_floor", r.RatioToFloor);
    });

    private static void WriteTable(ObjectiveBenchmarkResult r)
    {
        var table = new Table().AddColumn("quantity").AddColumn("value");
        table.AddRow("backend / path / precision", Markup.Escape($"{r.Backend.Name()} / {r.Path.Name()} / {r.Precision.Name()}"));
        table.AddRow("problem", Markup.Escape($"Gaussian, d = {r.Dim}, depth = {r.Depth}, n = {r.Count}"));
        table.AddRow("seconds per evaluation (median)", Output.Format(r.SecondsPerEval));
        table.AddRow("fastest / slowest sample", $"{Output.Format(r.SecondsMin)} / {Output.Format(r.SecondsMax)}");
        table.AddRow("setup seconds", Output.Format(r.SetupSeconds));
        table.AddRow("process CPU seconds per evaluation", Output.Format(r.CpuSecondsPerEval));
        table.AddRow("bytes read per evaluation", Markup.Escape($"{r.BytesPerEval / 1e6:F1} MB: {r.BytesPerSecond / 1e9:F1} GB/s"));
        table.AddRow("memory floor (all cores reading those bytes)", Markup.Escape($"{Output.Format(r.StreamSeconds)} s ({r.StreamBytesPerSecond / 1e9:F1} GB/s): evaluation / floor = {r.RatioToFloor:F2}"));
        table.AddRow("loss / trace at the point", Markup.Escape($"{Output.Format(r.Loss)} / {Output.Format(r.Trace)}"));
        var console = Output.Terminal();
        console.Write(table);
        console.WriteLine(r.Reason);
    }
}
