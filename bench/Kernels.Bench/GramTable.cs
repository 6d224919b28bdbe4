using System.Globalization;
using System.Numerics;
using System.Numerics.Tensors;
using Flatness.Kernels.Cpu;

namespace Flatness.Bench;

/// <summary>
/// <c>gram-table [D ...]</c>: one pass over K (<see cref="GramOperator.Apply{T}"/>) by its parts and as an evaluation
/// uses it (depth 3: one S, one S* and the loss; depth 4: two of each), in float64 and float32, on one thread,
/// against the memory floor (a sum over the same bytes) timed alongside, with the achieved GB/s.
/// Run as <c>DOTNET_PROCESSOR_COUNT=1 dotnet run -c Release --project bench/Kernels.Bench -- gram-table 20 50 100</c>
/// (thread CPU time, so it is usable on a loaded machine). <c>--chunk-elements E</c> sets the values per chunk of K
/// (default <see cref="GramLayout.ChunkElements"/>).
/// </summary>
internal static class GramTable
{
    public static int Run(string[] args)
    {
        if (Environment.ProcessorCount != 1 || !ThreadClock.IsAvailable)
        {
            Console.Error.WriteLine("gram-table: run on Linux with DOTNET_PROCESSOR_COUNT=1 so that the pass uses one thread");
            return 2;
        }
        int chunkElements = 0;
        int at = Array.IndexOf(args, "--chunk-elements");
        if (at >= 0)
        {
            chunkElements = int.Parse(args[at + 1], CultureInfo.InvariantCulture);
            args = [.. args[..at], .. args[(at + 2)..]];
        }
        int[] sizes = args.Length > 0 ? args.Select(a => int.Parse(a, CultureInfo.InvariantCulture)).ToArray() : [20, 50, 100];
        Console.WriteLine($"cpu: {GemmTable.CpuModel()}; ours: {Gemm.Isa}; one thread, thread CPU time, median of 7");
        Console.WriteLine();
        Console.WriteLine("| D | precision | pass | median ms | GB/s of K | floor ms (sum over K) | ratio to floor |");
        Console.WriteLine("|---|---|---|---:|---:|---:|---:|");
        foreach (int d in sizes)
        {
            int chunkRows = chunkElements > 0 ? Math.Clamp(chunkElements / d, 1, d) : 0;
            Rows<double>(d, "f64", chunkRows);
            Rows<float>(d, "f32", chunkRows);
        }
        return 0;
    }

    private static void Rows<T>(int d, string precision, int chunkRows) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var layout = new GramLayout(d, d, chunkRows);
        var random = new Random(1);
        T[] Values(int count) => Enumerable.Range(0, count).Select(_ => T.CreateTruncating(random.NextDouble() * 2 - 1)).ToArray();
        T[] Symmetric(int count)
        {
            var m = Values(count * d * d);
            for (int l = 0; l < count; l++)
                for (int i = 0; i < d; i++)
                    for (int j = 0; j < i; j++) m[l * d * d + i * d + j] = m[l * d * d + j * d + i];
            return m;
        }
        var k = Values(layout.Length);
        int workers = 1;
        var workspace = new T[GramOperator.WorkspaceLength(layout, 2, workers)];
        var hs = Symmetric(2);
        var gs = Symmetric(2);
        var sOut = new T[2 * d * d];
        var saOut = new T[2 * d * d];
        var e = Values(d * d);
        var me = new T[d * d];
        // A block of four Hessian-vector products: four loss products in one pass.
        var e4 = Values(4 * d * d);
        var me4 = new T[4 * d * d];
        var workspace4 = new T[GramOperator.WorkspaceLength(layout, 0, workers, 4)];
        int block = d * d;

        Action Pass(int nh, int ng, bool loss) => () => GramOperator.Apply<T>(layout, k,
            hs.AsMemory(0, nh * block), sOut.AsMemory(0, nh * block), gs.AsMemory(0, ng * block), saOut.AsMemory(0, ng * block),
            loss ? e : ReadOnlyMemory<T>.Empty, loss ? me : Memory<T>.Empty, workspace, workers);
        var rows = new (string Name, Action Action)[]
        {
            ("1 S", Pass(1, 0, false)),
            ("1 S*", Pass(0, 1, false)),
            ("loss", Pass(0, 0, true)),
            ("4 loss products (a block of 4 Hessian-vector products)", () => GramOperator.Apply<T>(layout, k, ReadOnlyMemory<T>.Empty, Memory<T>.Empty,
                ReadOnlyMemory<T>.Empty, Memory<T>.Empty, e4, me4, workspace4, workers)),
            ("1 S + 1 S* + loss (depth 3)", Pass(1, 1, true)),
            ("2 S + 2 S* + loss (depth 4)", Pass(2, 2, true)),
            ("sum over K", () => TensorPrimitives.Sum<T>(k)),
        };
        double until = ThreadClock.Seconds() + 1;
        while (ThreadClock.Seconds() < until)
            foreach (var row in rows) row.Action();
        var results = ThreadClock.MeasureInterleaved(rows.Select(r => r.Action).ToList(), repeats: 7, sampleSeconds: 0.05);
        double floor = results[^1].Median, bytes = (double)layout.Length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        for (int i = 0; i < rows.Length - 1; i++)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {d} | {precision} | {rows[i].Name} | {results[i].Median * 1e3:F3} | {bytes / results[i].Median / 1e9:F1} | {floor * 1e3:F3} | {results[i].Median / floor:F2} |"));
    }
}
