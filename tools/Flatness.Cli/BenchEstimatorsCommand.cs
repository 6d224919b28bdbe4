using System.CommandLine;
using System.Globalization;
using System.Text;
using Flatness.Solver.Curvature;
using Flatness.Experiments;
using Flatness.Solver.IO;

namespace Flatness.Cli;

/// <summary><c>flatness bench estimators</c>: true errors of Hutchinson, Hutch++ and XTrace against the exact trace.</summary>
internal static class BenchEstimatorsCommand
{
    public static Command Create()
    {
        var outOption = new Option<string>("--out") { Description = "Directory for estimators.csv and estimators.png", Required = true };
        var seedsOption = new Option<int>("--seeds") { Description = "Random repetitions per point (the error is their mean)", DefaultValueFactory = _ => 20 };
        var command = new Command("estimators", "Relative error of the trace estimators against the exact trace, by budget, on three problems") { outOption, seedsOption };
        command.SetAction(parse => Cli.Guard(() =>
        {
            string directory = parse.GetValue(outOption)!;
            if (!Directory.Exists(directory)) throw new ArgumentException($"--out {directory}: no such directory");
            var points = EstimatorStudy.Run(parse.GetValue(seedsOption));
            var csv = new StringBuilder("problem,method,matvecs,mean_relative_error,mean_error_estimate\n");
            foreach (var p in points)
                csv.AppendLine(string.Create(CultureInfo.InvariantCulture, $"{p.Problem},{p.Method.Name()},{p.Matvecs},{p.MeanRelativeError:R},{p.MeanErrorEstimate:R}"));
            AtomicFile.Write(Path.Combine(directory, "estimators.csv"), stream => stream.Write(Encoding.UTF8.GetBytes(csv.ToString())));
            var chart = new Chart("Trace estimators against the exact trace (depth 3, 8 x 8, 192 parameters)",
                "Hessian-vector products", "mean |estimate - tr H| / tr H", logX: true, logY: true).LegendAt(ScottPlot.Alignment.LowerLeft);
            foreach (var group in points.GroupBy(p => (p.Problem, p.Method)))
            {
                var curve = group.OrderBy(p => p.Matvecs).ToArray();
                chart.Series($"{group.Key.Method.Name()}, {group.Key.Problem}", curve.Select(p => (double)p.Matvecs).ToArray(),
                    curve.Select(p => Math.Max(p.MeanRelativeError, 1e-16)).ToArray(),
                    pattern: group.Key.Problem switch { "dense" => ScottPlot.LinePattern.Solid, "completion" => ScottPlot.LinePattern.Dashed, _ => ScottPlot.LinePattern.Dotted });
            }
            chart.Save(directory, "estimators.png", width: 1000, height: 620);
            Console.WriteLine($"estimators.csv and estimators.png in {directory}");
            return Cli.Ok;
        }));
        return command;
    }
}
