using System.Text;
using System.Text.Json;
using Flatness.Kernels.Tensors;
using Flatness.Solver.Problems;
using Spectre.Console;

namespace Flatness.Cli;

/// <summary>Where commands print: a Spectre console on the current standard output, or one JSON object.</summary>
internal static class Output
{
    /// <summary>
    /// A console for tables and text, bound to the current Console.Out. When standard output is not a terminal (a pipe,
    /// a file, a cluster log) it is as wide as the longest line, so tables stay whole instead of being cut to 80 columns.
    /// </summary>
    public static IAnsiConsole Terminal()
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Out) });
        if (Console.IsOutputRedirected) console.Profile.Width = 4096;
        return console;
    }

    /// <summary>Writes exactly one JSON object on standard output.</summary>
    public static void Json(Action<Utf8JsonWriter> writeProperties)
    {
        var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            writeProperties(writer);
            writer.WriteEndObject();
        }
        Console.Out.WriteLine(Encoding.UTF8.GetString(buffer.ToArray()));
        Console.Out.Flush();
    }

    /// <summary>A number, or null when it is NaN or infinite (JSON has no such numbers).</summary>
    public static void Number(this Utf8JsonWriter writer, string name, double value)
    {
        if (double.IsFinite(value)) writer.WriteNumber(name, value);
        else writer.WriteNull(name);
    }

    /// <summary>
    /// Checks, before any work, that every output can be written (<see cref="Solver.IO.AtomicFile.RequireWritable"/>),
    /// that no two outputs are the same file and that none is an input, comparing the files links resolve to.
    /// </summary>
    public static void CheckOutputs(IEnumerable<string?> outputs, IEnumerable<string?> inputs)
    {
        static string Resolved(string path) =>
            new FileInfo(path).LinkTarget is not null ? new FileInfo(path).ResolveLinkTarget(true)?.FullName ?? Path.GetFullPath(path) : Path.GetFullPath(path);
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        var inputFiles = inputs.OfType<string>().ToDictionary(Resolved, p => p, StringComparer.Ordinal);
        foreach (var output in outputs.OfType<string>())
        {
            string target = Solver.IO.AtomicFile.RequireWritable(output);
            if (inputFiles.TryGetValue(target, out var input)) throw new ArgumentException($"{output} would overwrite the input file {input}");
            if (!seen.TryAdd(target, output)) throw new ArgumentException($"{output} and {seen[target]} are the same file: give each output its own");
        }
    }

    /// <summary>
    /// `bench ... --save DIR`: the benchmark's problem and point as DIR/problem.npz and DIR/layers.npz, for a peer tool
    /// to compute the same thing.
    /// </summary>
    public static void SavePoint(string directory, (SensingProblem Problem, Matrix<double>[] Layers) point)
    {
        if (!Directory.Exists(directory)) throw new ArgumentException($"--save {directory}: no such directory");
        ProblemFiles.SaveProblem(Path.Combine(directory, "problem.npz"), point.Problem);
        ProblemFiles.SaveLayers(Path.Combine(directory, "layers.npz"), point.Layers);
    }

    /// <summary>One warning line on standard error naming the quantities that overflowed (their JSON fields print null).</summary>
    public static void WarnNonFinite(IReadOnlyList<string> names)
    {
        if (names.Count > 0)
            Console.Error.WriteLine($"flatness: warning: {string.Join(", ", names)} overflowed float64 at these layers (reported as null)");
    }

    /// <summary>A number as people read it: up to 6 significant digits, "-" when undefined.</summary>
    public static string Format(double value) =>
        double.IsFinite(value) ? value.ToString("G6", System.Globalization.CultureInfo.InvariantCulture) : "-";
}
