using System.CommandLine;
using Flatness.Solver.Backends;
using Flatness.Experiments;
using Spectre.Console;

namespace Flatness.Cli;

/// <summary>Options of `flatness reproduce`, after parsing.</summary>
internal sealed record ReproduceOptions(
    string Claims, ExperimentMode Mode, string? Out, int? Seeds, Precision Precision, BackendKind Backend, Shard Shard, int Jobs, bool Json,
    bool Force = false)
{
    public string OutputDirectory => Out ?? Path.Combine("out", "reproduce-" + SweepSettings.ModeToString(Mode));
}

/// <summary>`flatness reproduce`: runs the claims of the paper as a (shardable, resumable) sweep and reports verdicts.</summary>
internal static class ReproduceCommand
{
    public static Command Create()
    {
        var claim = new Option<string>("--claim") { Description = "Claims to run: all, or a list such as C1,C4", DefaultValueFactory = _ => "all" };
        var quick = new Option<bool>("--quick") { Description = "Small sizes: all six claims in well under a minute on two cores" };
        var mode = new Option<string?>("--mode") { Description = "Sweep size: tiny (tests), quick, or full (default; the paper's figures)" };
        mode.AcceptOnlyFromAmong("tiny", "quick", "full");
        var outDir = new Option<string?>("--out") { Description = "Sweep directory (default out/reproduce-MODE); rerunning resumes it" };
        var seeds = new Option<int?>("--seeds") { Description = "Seeds per configuration (default: 1 tiny, 2 quick, 5 full)" };
        var precision = ChoiceOptions.Precision();
        var backend = ChoiceOptions.Backend(BackendKind.Auto);
        var shard = new Option<string?>("--shard") { Description = "Run only part k of N (k/N, 0 <= k < N; cell i belongs to part i mod N)" };
        var jobs = new Option<int?>("--jobs") { Description = "Cells computed in parallel (default: number of cores)" };
        var json = new Option<bool>("--json") { Description = "Print summary.json (or the shard's progress) as one JSON object" };
        var force = new Option<bool>("--force") { Description = "Recompute cells the directory holds from other settings (instead of refusing)" };

        var command = new Command("reproduce", "Run the paper's claims (docs/MATH.md section 5) as experiments with verdicts, CSVs and figures")
        {
            claim, quick, mode, outDir, seeds, precision, backend, shard, jobs, json, force,
        };
        command.SetAction(parse => Cli.Guard(() =>
        {
            string? modeText = parse.GetValue(mode);
            bool isQuick = parse.GetValue(quick);
            if (isQuick && modeText is not null && modeText != "quick")
                throw new ArgumentException($"--quick contradicts --mode {modeText}");
            var options = new ReproduceOptions(
                parse.GetValue(claim)!,
                isQuick ? ExperimentMode.Quick : modeText is null ? ExperimentMode.Full : SweepSettings.ParseMode(modeText),
                parse.GetValue(outDir),
                parse.GetValue(seeds),
                parse.GetValue(precision),
                parse.GetValue(backend),
                parse.GetValue(shard) is { } s ? Shard.Parse(s) : Shard.All,
                parse.GetValue(jobs) ?? Environment.ProcessorCount,
                parse.GetValue(json),
                parse.GetValue(force));
            return Execute(options, Output.Terminal());
        }));
        return command;
    }

    public static int Execute(ReproduceOptions options, IAnsiConsole console)
    {
        if (options.Jobs < 1) throw new ArgumentException($"--jobs must be at least 1, got {options.Jobs}");
        var claims = ClaimCatalog.Resolve(options.Claims);
        var settings = new SweepSettings(options.Mode, options.Seeds, options.Precision, options.Backend);
        ExperimentEvaluators.Validate(settings);
        var runner = new SweepRunner(claims, settings);
        string directory = options.OutputDirectory;
        // One device context serves one cell at a time.
        int jobs = settings.Backend.IsIlgpu() ? 1 : options.Jobs;

        // The first interrupt or termination signal stops the sweep: cells already finished are on disk and the same
        // command resumes from them. A second signal ends the process as usual.
        using var signals = new SignalStop();

        var clock = System.Diagnostics.Stopwatch.StartNew();
        SweepRunResult result;
        try
        {
            result = options.Json || !console.Profile.Capabilities.Interactive
                ? runner.Run(directory, options.Shard, jobs, options.Json ? null : Lines(console), signals.Token, options.Force)
                : RunWithProgress(runner, directory, options.Shard, jobs, console, options.Force, signals.Token);
        }
        catch (ExperimentException e)
        {
            Console.Error.WriteLine($"flatness: {e.Message}");
            return 1;
        }
        catch (OperationCanceledException) when (signals.Stopped)
        {
            Console.Error.WriteLine($"flatness: reproduce: stopped by a signal; the finished cells are in {directory}, and the same command resumes from them");
            return Cli.Interrupted;
        }
        double seconds = clock.Elapsed.TotalSeconds;

        if (options.Json)
        {
            console.Profile.Out.Writer.WriteLine(result.Summary is { } s ? s.ToJson() : SweepConsole.ProgressJson(result, options.Shard, directory));
            console.Profile.Out.Writer.Flush();
        }
        else
        {
            console.MarkupLine($"[grey]{Markup.Escape(directory)}[/]: shard {options.Shard}, {result.Computed} cells computed, " +
                               $"{result.Skipped} already finished, {seconds:0.0} s wall");
            if (result.Summary is { } summary) SweepConsole.Report(summary, directory, console);
            else
                console.MarkupLine($"{result.MissingCells} of {result.TotalCells} cells of the sweep are still missing (other shards); " +
                                   "when all shards are done, combine them with [bold]flatness merge[/].");
        }
        return result.Summary is { Passed: false } ? 1 : Cli.Ok;
    }

    private static SweepRunResult RunWithProgress(SweepRunner runner, string directory, Shard shard, int jobs, IAnsiConsole console, bool force,
        CancellationToken cancellation)
    {
        SweepRunResult? result = null;
        console.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var tasks = runner.Claims.ToDictionary(c => c.Id, c => ctx.AddTask($"{c.Id} {c.Title}", autoStart: false));
                result = runner.Run(directory, shard, jobs, Bars(tasks), cancellation, force);
            });
        return result!;
    }

    /// <summary>One progress bar per claim.</summary>
    private static ProgressCallback<SweepProgress> Bars(Dictionary<string, ProgressTask> tasks) => new(p =>
    {
        var task = tasks[p.ClaimId];
        switch (p.Event)
        {
            case SweepEvent.ClaimStarted:
                task.MaxValue = Math.Max(p.Owned, 1);
                task.Value = p.Done;
                task.StartTask();
                break;
            case SweepEvent.CellFinished:
                task.Increment(1);
                break;
            default:
                task.Value = task.MaxValue;
                task.StopTask();
                break;
        }
    });

    /// <summary>Progress as plain lines, for logs (batch jobs, redirected output).</summary>
    private static ProgressCallback<SweepProgress> Lines(IAnsiConsole console)
    {
        var clock = new System.Diagnostics.Stopwatch();
        int computed = 0;
        return new(p =>
        {
            switch (p.Event)
            {
                case SweepEvent.ClaimStarted:
                    clock.Restart();
                    computed = 0;
                    console.WriteLine($"{p.ClaimId} {p.ClaimTitle}: {p.Owned} cells in this shard, {p.Done} already finished");
                    break;
                case SweepEvent.CellFinished:
                    Interlocked.Increment(ref computed);
                    break;
                default:
                    console.WriteLine($"{p.ClaimId}: computed {computed} cells in {clock.Elapsed.TotalSeconds:0.0} s");
                    break;
            }
        });
    }
}

/// <summary>The final report on a terminal: one row per claim with its verdict and the numbers behind it.</summary>
internal static class SweepConsole
{
    public static void Report(SweepSummary summary, string directory, IAnsiConsole console)
    {
        var table = new Table().Border(TableBorder.Rounded)
            .AddColumn("Claim").AddColumn("Verdict").AddColumn("Cells").AddColumn("Key numbers");
        foreach (var c in summary.Claims)
            table.AddRow(
                new Markup($"[bold]{c.Id}[/] {Markup.Escape(c.Title)}"),
                new Markup(c.Passed ? "[green]PASS[/]" : "[red]FAIL[/]"),
                new Text(c.Cells.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                new Text(c.Headline));
        console.Write(table);
        // A failed claim says which checks failed and by how much; every check is in summary.json ("reason").
        foreach (var c in summary.Claims.Where(c => !c.Passed))
            console.MarkupLine($"[red]{c.Id}[/]: {Markup.Escape(c.Reason)}");
        console.MarkupLine($"{(summary.Passed ? "[green]all claims hold[/]" : "[red]some claims failed[/]")} " +
                           $"(mode {summary.Mode}, {summary.Seeds} seeds, {summary.Precision}); summary, CSVs and figures in [grey]{Markup.Escape(directory)}[/]");
    }

    public static string ProgressJson(SweepRunResult result, Shard shard, string directory) =>
        System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["directory"] = directory,
            ["shard"] = shard.ToString(),
            ["complete"] = result.Complete,
            ["cells"] = result.TotalCells,
            ["owned"] = result.OwnedCells,
            ["computed"] = result.Computed,
            ["skipped"] = result.Skipped,
            ["missing"] = result.MissingCells,
        });
}
