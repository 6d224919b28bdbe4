using System.CommandLine;
using Flatness.Experiments;
using Spectre.Console;

namespace Flatness.Cli;

/// <summary>`flatness merge`: combines the cell files of shard directories into one summary, CSVs and figures.</summary>
internal static class MergeCommand
{
    public static Command Create()
    {
        var inputs = new Argument<string[]>("DIR") { Description = "Sweep directories written by `flatness reproduce --shard`", Arity = ArgumentArity.OneOrMore };
        var outDir = new Option<string>("--out") { Description = "Directory for the merged sweep (may be one of the inputs)", Required = true };
        var json = new Option<bool>("--json") { Description = "Print the merged summary.json as one JSON object" };
        var command = new Command("merge", "Combine sharded `reproduce` outputs into one summary, CSVs and figures") { inputs, outDir, json };
        command.SetAction(parse => Cli.Guard(() =>
            Execute(parse.GetValue(inputs)!, parse.GetValue(outDir)!, parse.GetValue(json), AnsiConsole.Console)));
        return command;
    }

    public static int Execute(IReadOnlyList<string> inputs, string output, bool json, IAnsiConsole console)
    {
        var result = SweepMerge.Merge(inputs, output);
        if (json)
        {
            console.Profile.Out.Writer.WriteLine(result.Summary.ToJson());
            console.Profile.Out.Writer.Flush();
        }
        else
        {
            console.MarkupLine($"merged {result.Inputs} directories: {result.CellsRead} cell files read, {result.CellsCopied} copied into [grey]{Markup.Escape(output)}[/]");
            SweepConsole.Report(result.Summary, output, console);
        }
        return result.Summary.Passed ? Cli.Ok : 1;
    }
}
