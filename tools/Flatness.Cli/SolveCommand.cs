using System.CommandLine;
using Flatness.Solver.Backends;
using Flatness.Solver.IO;
using System.Globalization;
using Flatness.Solver.Model;
using Flatness.Solver.Optimizers;
using Flatness.Solver.Problems;
using Flatness.Solver.Runs;
using Spectre.Console;

namespace Flatness.Cli;

/// <summary>
/// `flatness solve`: parses a <see cref="SolveRequest"/>, runs it with <see cref="SolveRunner"/>, and reports
/// (a table and a progress bar on terminals, or one JSON object), optionally writing the run file.
/// </summary>
internal static class SolveCommand
{
    private static readonly string[] GenerateKinds = ["gaussian", "completion", "rank-one", "basis"];
    private static readonly string[] InitKinds = ["gaussian", "orthogonal", "small-balanced", "file"];

    public static Command Create()
    {
        var problem = new Option<string?>("--problem") { Description = "Problem file (.npz), or use --generate" };
        var generate = new Option<string?>("--generate") { Description = "Generate a problem: gaussian, completion, rank-one or basis (the scaled full basis, n = d0 dL)" };
        OneOf(generate, GenerateKinds, "problem kind");
        var d0 = new Option<int?>("--d0") { Description = "Generated problem: input dimension d_0" };
        var dL = new Option<int?>("--dL") { Description = "Generated problem: output dimension d_L" };
        var rank = new Option<int?>("--rank") { Description = "Generated problem: rank of the ground truth M* (||M*||_F = 1)" };
        var n = new Option<int?>("--n") { Description = "Generated problem: number of measurements (not for basis)" };
        var noise = new Option<double?>("--noise") { Description = "Generated problem: standard deviation of Gaussian label noise (default 0)" };
        var scale = new Option<double?>("--scale") { Description = "Generated completion problem: scale s of A_i = s e_a e_b^T (default sqrt(d0 dL))" };
        var seed = new Option<int>("--seed") { Description = "Seed of the generated problem (and, offset, of the initialisation and sample path)", DefaultValueFactory = _ => 0 };

        var depth = new Option<int?>("--depth") { Description = "Depth L (default 2, or that of --init-file)" };
        var width = new Option<int?>("--width") { Description = "Hidden width (default max(d0, dL))" };
        var init = new Option<string?>("--init") { Description = "Starting point: gaussian (default), orthogonal, small-balanced or file" };
        OneOf(init, InitKinds, "initialisation");
        var initScale = new Option<double?>("--init-scale") { Description = "Scale of the initialisation (default 1)" };
        var initFile = new Option<string?>("--init-file") { Description = "Layers file (.npz with W1 .. WL) for --init file" };

        var method = new Option<string>("--method")
        {
            Description = "Method: " + string.Join("; ", Enum.GetValues<SolveMethod>().Select(m => $"{m.Name()} ({m.Description()})")),
            Required = true,
        };
        OneOf(method, SolveMethods.Names, "method");
        var lambda = new Option<double?>("--lambda") { Description = "flat: weight of tr H in L + lambda tr H (default 1e-3)" };
        var lr = new Option<double?>("--lr") { Description = "Step size (flat, gd, label-noise, sam, one-sam; weight-decay: gradient descent instead of L-BFGS)" };
        var steps = new Option<long?>("--steps") { Description = "Maximum steps (L-BFGS iterations for penalty and weight-decay, ADMM iterations for nuclear)" };
        var sigma = new Option<double?>("--sigma") { Description = "label-noise: standard deviation of the label noise (default 0.1)" };
        var rho = new Option<double?>("--rho") { Description = "sam, one-sam: ascent radius (default 0.05)" };
        var mu = new Option<double?>("--mu") { Description = "penalty: first-stage weight of L; weight-decay: weight of sum ||W_j||_F^2 (default 1e-3)" };

        var precision = ChoiceOptions.Precision();
        var backend = ChoiceOptions.Backend(BackendKind.Auto);
        var explain = new Option<bool>("--explain") { Description = "Print the evaluator the selector chose, and why" };
        var historyEvery = new Option<int?>("--history-every") { Description = "Record the metric history every this many steps (0: none)" };
        var threads = new Option<int?>("--threads") { Description = "Most CPU threads the evaluator may use (default: every core)" };
        var trackSharpness = new Option<int?>("--track-sharpness") { Description = "Record lambda_max of the loss Hessian every this many steps (Lanczos, warm-started)" };
        var timeLimit = new Option<double?>("--time-limit") { Description = "Stop after this many seconds" };
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of a table" };
        var output = new Option<string?>("--out") { Description = "Write the layers W1 .. WL (E for nuclear and min-frobenius) and the history to this .npz file" };
        var checkpoint = new Option<string?>("--checkpoint")
        {
            Description = "Save the method's whole state to this file now and then and on SIGINT/SIGTERM; rerunning the same command resumes from it (bit-identical layers). Removed once the run ends other than by a signal",
        };
        var checkpointEvery = new Option<double?>("--checkpoint-every") { Description = "Seconds between checkpoints (default 60)" };

        var command = new Command("solve", "Solve a sensing problem: flatness-regularised training, implicit trace minimisers, or convex baselines")
        {
            problem, generate, d0, dL, rank, n, noise, scale, seed, depth, width, init, initScale, initFile,
            method, lambda, lr, steps, sigma, rho, mu, precision, backend, explain, historyEvery, trackSharpness, threads, timeLimit, json, output,
            checkpoint, checkpointEvery,
        };
        command.SetAction(parse => Cli.Guard(() =>
        {
            string? problemPath = parse.GetValue(problem), kind = parse.GetValue(generate);
            if ((problemPath is null) == (kind is null))
                throw new ArgumentException("give exactly one of --problem FILE and --generate KIND");
            ProblemSpec? spec = null;
            if (problemPath is not null)
            {
                foreach (var (name, given) in new (string, bool)[]
                {
                    ("--d0", parse.GetValue(d0) is not null), ("--dL", parse.GetValue(dL) is not null), ("--rank", parse.GetValue(rank) is not null),
                    ("--n", parse.GetValue(n) is not null), ("--noise", parse.GetValue(noise) is not null), ("--scale", parse.GetValue(scale) is not null),
                })
                    if (given) throw new ArgumentException($"{name} applies to --generate, not to --problem");
            }
            else
            {
                int Need(Option<int?> o, string name) => parse.GetValue(o) ?? throw new ArgumentException($"--generate {kind} needs {name}");
                bool basis = kind == "basis";
                if (basis && parse.GetValue(n) is not null) throw new ArgumentException("--n does not apply to --generate basis (n = d0 dL)");
                if (kind != "completion" && parse.GetValue(scale) is not null) throw new ArgumentException($"--scale applies to --generate completion only");
                int inputDim = Need(d0, "--d0"), outputDim = Need(dL, "--dL");
                spec = new ProblemSpec(
                    kind switch { "gaussian" => ProblemKind.Gaussian, "completion" => ProblemKind.Completion, "rank-one" => ProblemKind.RankOne, _ => ProblemKind.Basis },
                    inputDim, outputDim, Need(rank, "--rank"), basis ? inputDim * outputDim : Need(n, "--n"),
                    parse.GetValue(noise) ?? 0.0, parse.GetValue(seed), parse.GetValue(scale));
            }
            double? seconds = parse.GetValue(timeLimit);
            if (seconds is double s && !(s > 0 && s <= 1e9)) throw new ArgumentException($"--time-limit must be a positive number of seconds up to 1e9, got {s}");
            double? every = parse.GetValue(checkpointEvery);
            if (every is double e && !(e >= 0 && e <= 1e9)) throw new ArgumentException($"--checkpoint-every must be a number of seconds in [0, 1e9], got {e}");
            if (every is not null && parse.GetValue(checkpoint) is null) throw new ArgumentException("--checkpoint-every needs --checkpoint FILE");

            var request = new SolveRequest
            {
                ProblemFile = problemPath,
                Generate = spec,
                Depth = parse.GetValue(depth),
                Width = parse.GetValue(width),
                Init = parse.GetValue(init) switch
                {
                    null => null,
                    "gaussian" => InitKind.Gaussian,
                    "orthogonal" => InitKind.Orthogonal,
                    "small-balanced" => InitKind.SmallBalanced,
                    _ => InitKind.File,
                },
                InitScale = parse.GetValue(initScale),
                InitFile = parse.GetValue(initFile),
                Seed = parse.GetValue(seed),
                Method = SolveMethods.Parse(parse.GetValue(method)!),
                Lambda = parse.GetValue(lambda),
                LearningRate = parse.GetValue(lr),
                Steps = parse.GetValue(steps),
                Sigma = parse.GetValue(sigma),
                Rho = parse.GetValue(rho),
                Mu = parse.GetValue(mu),
                Backend = parse.GetValue(backend),
                Precision = parse.GetValue(precision),
                Warn = ChoiceOptions.Warn,
                HistoryEvery = parse.GetValue(historyEvery),
                TrackSharpness = parse.GetValue(trackSharpness),
                Threads = parse.GetValue(threads),
                TimeLimit = seconds is double t ? TimeSpan.FromSeconds(t) : null,
                CheckpointFile = parse.GetValue(checkpoint),
                CheckpointEvery = TimeSpan.FromSeconds(every ?? 60),
            };
            return Execute(request, parse.GetValue(json), parse.GetValue(explain), parse.GetValue(output));
        }));
        return command;
    }

    /// <summary>Accepts only the listed values, with a one-line error that lists them.</summary>
    private static void OneOf(Option option, IReadOnlyList<string> values, string what) =>
        option.Validators.Add(result =>
        {
            foreach (var token in result.Tokens)
                if (!values.Contains(token.Value))
                    result.AddError($"unknown {what} '{token.Value}' for {option.Name}; valid: {string.Join(", ", values)}");
        });

    private static int Execute(SolveRequest request, bool json, bool explain, string? output)
    {
        // Parameter and file checks before any work: a bad option never costs a run.
        SolveRunner.CheckParameters(request);
        Output.CheckOutputs([output, request.CheckpointFile], [request.ProblemFile, request.InitFile]); // before the work, not after it

        // The first interrupt or termination signal stops the method at its next step; what it reached is still
        // measured, printed and saved (stop reason "cancelled"). A second signal ends the process as usual.
        using var signals = new SignalStop();
        request = request with { Cancellation = signals.Token };

        SolveResult result;
        if (!json && !Console.IsOutputRedirected) result = RunWithProgress(request);
        else result = SolveRunner.Run(request);
        if (output is not null) result.Save(output);
        // A finished run needs no checkpoint (a rerun would redo its last stretch); a signalled one is continued from it.
        bool keepCheckpoint = result.StopReason == "cancelled";
        if (request.CheckpointFile is { } file && !keepCheckpoint) File.Delete(file);

        Output.WarnNonFinite(result.Metrics.NonFinite);
        string? kept = keepCheckpoint ? request.CheckpointFile : null;
        if (json) WriteJson(result, explain, output, kept);
        else WriteTable(result, explain, output, kept);
        return Cli.Ok;
    }

    private static SolveResult RunWithProgress(SolveRequest request)
    {
        SolveResult? result = null;
        Output.Terminal().Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(context =>
            {
                var task = context.AddTask(request.Method.Name());
                void Report(ProgressReport p)
                {
                    task.MaxValue = Math.Max(1, p.MaxSteps);
                    task.Value = p.Final ? task.MaxValue : Math.Min(p.Step, p.MaxSteps);
                    string loss = double.IsFinite(p.Loss) ? $" loss {Output.Format(p.Loss)}" : "";
                    string stage = p.Stage is null ? "" : $" ({p.Stage})";
                    string sharpness = double.IsFinite(p.LambdaMax) ? $" lambda_max {Output.Format(p.LambdaMax)}" : "";
                    task.Description = Markup.Escape($"{p.Method}{stage}{loss}{sharpness}");
                }
                result = SolveRunner.Run(request with { Progress = new ProgressCallback<ProgressReport>(Report) });
                task.Value = task.MaxValue;
            });
        return result!;
    }

    private static void WriteJson(SolveResult r, bool explain, string? output, string? checkpoint) => Output.Json(w =>
    {
        var m = r.Metrics;
        w.WriteString("method", r.Method.Name());
        if (m.RelativeError is double rel) w.Number("relative_error", rel);
        if (m.RelativeError is double squared) w.Number("relative_frobenius_error", Math.Sqrt(squared));
        w.Number("loss", m.Loss);
        w.Number("hessian_trace", m.HessianTrace);
        w.Number("flatness_g", m.FlatnessG);
        w.Number("bound_f", m.BoundF);
        w.Number("trace_over_2g", m.TraceOver2G);
        w.Number("nuclear_norm", m.NuclearNorm);
        w.Number("frobenius_norm", m.FrobeniusNorm);
        w.Number("effective_rank", m.EffectiveRank);
        w.WriteNumber("steps", r.Steps);
        w.Number("seconds", r.Seconds);
        w.WriteString("stop_reason", r.StopReason);
        w.WriteNumber("backoffs", r.Backoffs);
        if (double.IsFinite(r.FinalLearningRate)) w.Number("final_lr", r.FinalLearningRate);
        w.WriteString("backend", r.Metrics.Backend.Name());
        w.WriteString("path", r.Metrics.Path.Name());
        w.WriteString("precision", r.Metrics.Precision.Name());
        if (explain) w.WriteString("reason", r.Evaluator.Reason);
        w.WriteNumber("depth", r.Dims.Length - 1);
        w.WriteStartArray("dims");
        foreach (int d in r.Dims) w.WriteNumberValue(d);
        w.WriteEndArray();
        w.WriteNumber("n", r.Problem.Count);
        w.WriteString("measurement", r.Problem.Measurements.Kind.Name());
        w.WriteStartObject("parameters");
        foreach (var (name, value) in r.Parameters) w.Number(name, value);
        w.WriteEndObject();
        w.WriteNumber("history_rows", r.History.Count);
        if (r.History.Rows.LastOrDefault(row => double.IsFinite(row.LambdaMax)) is { } tracked) w.Number("lambda_max", tracked.LambdaMax);
        if (output is not null) w.WriteString("out", output);
        if (r.ResumedAtStep is long resumed) w.WriteNumber("resumed_at_step", resumed);
        if (checkpoint is not null) w.WriteString("checkpoint", checkpoint);
    });

    private static void WriteTable(SolveResult r, bool explain, string? output, string? checkpoint)
    {
        var console = Output.Terminal();
        var m = r.Metrics;
        string parameters = string.Join(", ", r.Parameters.Select(p => $"{p.Key} {Output.Format(p.Value)}"));
        console.MarkupLine($"[bold]{Markup.Escape(r.Method.Name())}[/]" + Markup.Escape(
            $" on {r.Problem.Measurements.Kind.Name()} sensing, n = {r.Problem.Count}, d_L x d_0 = {r.Problem.OutputDim} x {r.Problem.InputDim}; " +
            $"dims [{string.Join(", ", r.Dims)}]" + (parameters.Length > 0 ? $"; {parameters}" : "")));
        console.MarkupLine(Markup.Escape($"evaluator {r.Metrics.Backend.Name()} ({r.Metrics.Path.Name()} path, {r.Metrics.Precision.Name()})"));
        if (explain) console.MarkupLine(Markup.Escape($"why: {r.Evaluator.Reason}"));
        var table = new Table().Border(TableBorder.Rounded).AddColumn("quantity").AddColumn(new TableColumn("value").RightAligned());
        void Row(string name, string value) => table.AddRow(Markup.Escape(name), Markup.Escape(value));
        if (m.RelativeError is double rel) Row("relative error ||E - M*||_F^2 / ||M*||_F^2", Output.Format(rel));
        Row("loss L", Output.Format(m.Loss));
        Row(r.Layers is null ? "tr H (flattest factorisation of E)" : "Hessian trace tr H", Output.Format(m.HessianTrace));
        Row("flatness G", Output.Format(m.FlatnessG));
        Row($"bound F(E) at depth {r.Dims.Length - 1}", Output.Format(m.BoundF));
        Row("tr H / 2G", Output.Format(m.TraceOver2G));
        Row("||E||_* (nuclear)", Output.Format(m.NuclearNorm));
        Row("effective rank of E", Output.Format(m.EffectiveRank));
        Row("steps", r.Steps.ToString(CultureInfo.InvariantCulture));
        Row("stopped by", r.StopReason);
        Row("back-offs", r.Backoffs.ToString(CultureInfo.InvariantCulture));
        Row("seconds", Output.Format(r.Seconds));
        console.Write(table);
        if (r.ResumedAtStep is long resumed) console.MarkupLine(Markup.Escape($"resumed from the checkpoint at step {resumed}"));
        if (output is not null) console.MarkupLine($"run written to [bold]{Markup.Escape(output)}[/]");
        if (checkpoint is not null)
            console.MarkupLine($"state saved to [bold]{Markup.Escape(checkpoint)}[/]: run the same command again to continue");
    }
}
