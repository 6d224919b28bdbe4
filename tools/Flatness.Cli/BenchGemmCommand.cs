using System.CommandLine;
using System.Text.Json;
using Flatness.Solver.Backends;
using Flatness.Solver.Benchmarking;
using Spectre.Console;

namespace Flatness.Cli;

/// <summary><c>flatness bench gemm</c>: GFLOP/s of the GEMM kernel on an n x n product.</summary>
internal static class BenchGemmCommand
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new NameConverter<BackendKind>(b => b.Name()), new NameConverter<Precision>(p => p.Name()) },
    };

    /// <summary>Writes a choice by its command-line name ("cpu", "f64").</summary>
    private sealed class NameConverter<T>(Func<T, string> name) : System.Text.Json.Serialization.JsonConverter<T> where T : struct, Enum
    {
        public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => throw new NotSupportedException();
        public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options) => writer.WriteStringValue(name(value));
    }

    public static Command Create()
    {
        var size = new Option<int>("--size")
        {
            Description = "n of the n x n by n x n product",
            DefaultValueFactory = _ => 1024,
        };
        var precision = ChoiceOptions.Precision("f32 or f64");
        var threads = new Option<int>("--threads")
        {
            Description = "most threads the product may use",
            DefaultValueFactory = _ => Environment.ProcessorCount,
        };
        var repeats = new Option<int>("--repeats")
        {
            Description = "timed runs after warm-up (the median is reported)",
            DefaultValueFactory = _ => 7,
        };
        var backend = ChoiceOptions.Backend(BackendKind.Cpu, "where to run: cpu, ilgpu, ilgpu-cuda, ilgpu-opencl or ilgpu-cpu");
        var json = new Option<bool>("--json") { Description = "print one JSON object instead of a table" };

        var command = new Command("gemm", "Time C = A B on n x n matrices (median of repeated runs after warm-up), in GFLOP/s");
        foreach (Option option in new Option[] { size, precision, threads, repeats, backend, json })
            command.Options.Add(option);
        command.SetAction(parseResult => Cli.Guard(() =>
        {
            var result = GemmBenchmark.Run(parseResult.GetValue(size), parseResult.GetValue(precision),
                parseResult.GetValue(threads), parseResult.GetValue(repeats), parseResult.GetValue(backend));
            if (parseResult.GetValue(json))
            {
                Console.Out.WriteLine(JsonSerializer.Serialize(result, Json));
                return Cli.Ok;
            }
            var table = new Table().AddColumns("backend", "precision", "size", "threads", "median s", "GFLOP/s", "kernel");
            table.AddRow(result.Backend.Name(), result.Precision.Name(), result.Size.ToString(), result.Threads.ToString(),
                result.SecondsMedian.ToString("G4"), result.Gflops.ToString("F1"), result.Kernel);
            Output.Terminal().Write(table);
            return Cli.Ok;
        }));
        return command;
    }
}
