using System.Globalization;
using Flatness.Kernels.Cpu;
using Flatness.Solver.Backends;
using Flatness.Solver.Model;
using Flatness.Solver.Problems;

namespace Flatness.Bench;

/// <summary>
/// <c>operator-table [D ...]</c>: thread CPU time of each CPU operator of one evaluation, and of whole evaluations,
/// on one thread. Run it as <c>DOTNET_PROCESSOR_COUNT=1 dotnet run -c Release --project bench/Kernels.Bench -- operator-table 30 50</c>:
/// with one processor the GEMM and the Gram pass use one thread, so the thread's CPU time is the whole cost, and it is
/// not charged for time other processes held the core (usable on a loaded machine). n = 2000, depth 3 for the
/// evaluations. A sum over K, the memory-bandwidth floor of the Gram pass, is timed alongside.
/// </summary>
internal static class OperatorTable
{
    public static int Run(string[] args)
    {
        if (Environment.ProcessorCount != 1)
        {
            Console.Error.WriteLine("operator-table: run with DOTNET_PROCESSOR_COUNT=1 so that every kernel uses one thread");
            return 2;
        }
        if (!ThreadClock.IsAvailable)
        {
            Console.Error.WriteLine("operator-table: needs the Linux thread CPU clock");
            return 2;
        }
        int[] sizes = args.Length > 0 ? args.Select(a => int.Parse(a, CultureInfo.InvariantCulture)).ToArray() : [30, 50];
        Console.WriteLine("| D | operation | median ms | fastest ms |");
        Console.WriteLine("|---|---|---|---|");
        foreach (int d in sizes)
        {
            var operators = new OperatorBenchmarks { D = d, N = 2000 };
            operators.Setup();
            var problem = Generators.Generate(new ProblemSpec(ProblemKind.Gaussian, d, d, Rank: Math.Min(d, 5), Count: 2000, Seed: 0));
            var dims = Initializers.Dims(d, d, 3);
            var layers = Initializers.Gaussian(dims, 1.0, 1).Layers;
            using var gram = Evaluators.Create(problem, dims, new EvaluatorOptions { Backend = BackendKind.Cpu, Path = EvaluationPath.Gram, Precision = Precision.F64 });
            using var direct = Evaluators.Create(problem, dims, new EvaluatorOptions { Backend = BackendKind.Cpu, Path = EvaluationPath.Direct, Precision = Precision.F64 });
            var k = new double[new GramLayout(d, d).Length];
            for (int i = 0; i < k.Length; i++) k[i] = 1.0 + i % 7; // touched pages: a never-written array reads the shared zero page

            var rows = new (string Name, Action Action)[]
            {
                ("direct S(F^T F)", operators.DirectSOfGram),
                ("direct S*(P P^T)", operators.DirectSAdjointOfGram),
                ("Gram pass, 2 S + 2 S*", operators.GramPassTwoLayers),
                ("Gram pass, 2 S + 2 S* + loss", operators.GramPassTwoLayersAndLoss),
                ("sum over K (memory floor)", () => System.Numerics.Tensors.TensorPrimitives.Sum<double>(k)),
                ("sensing forward + adjoint", operators.SensingForwardAndAdjoint),
                ("rank-one S", operators.RankOneS),
                ("completion S", operators.CompletionS),
                ("evaluation, gram, L = 3", () => gram.Evaluate(layers, Quantities.All)),
                ("evaluation, direct, L = 3", () => direct.Evaluate(layers, Quantities.All)),
            };
            // Let tiered compilation promote the hot methods before measuring.
            double until = ThreadClock.Seconds() + 2;
            while (ThreadClock.Seconds() < until)
                foreach (var row in rows) row.Action();
            var results = ThreadClock.MeasureInterleaved(rows.Select(r => r.Action).ToList(), repeats: 7, sampleSeconds: 0.05);
            for (int i = 0; i < rows.Length; i++)
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {d} | {rows[i].Name} | {results[i].Median * 1e3:F3} | {results[i].Min * 1e3:F3} |"));
        }
        return 0;
    }
}
