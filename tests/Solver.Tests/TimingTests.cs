using Flatness.Solver.Backends;
using Flatness.Solver.Benchmarking;

namespace Flatness.Tests;

public class TimingTests
{
    [Fact]
    public void InterleavedTimingSamplesEveryActionAndOrdersStatistics()
    {
        int fast = 0, slow = 0;
        var results = Timing.MeasureInterleaved(
            [() => fast++, () => { slow++; Thread.SpinWait(20000); }],
            repeats: 5, warmupSeconds: 0.001, minSampleSeconds: 0.002, settleSeconds: 0.001);
        Assert.Equal(2, results.Length);
        foreach (var r in results)
        {
            Assert.Equal(5, r.Samples);
            Assert.True(r.MinSeconds <= r.MedianSeconds && r.MedianSeconds <= r.MaxSeconds);
            Assert.True(r.CallsPerSample >= 1);
        }
        // Every sample ran its calls: warm-up (>= 2) plus 5 samples of CallsPerSample calls.
        Assert.True(fast >= 2 + 5 * results[0].CallsPerSample);
        Assert.True(slow >= 2 + 5 * results[1].CallsPerSample);
        Assert.True(results[1].MedianSeconds > results[0].MedianSeconds);
    }

    [Fact]
    public void TimingRejectsBadArguments()
    {
        Assert.Throws<ArgumentException>(() => Timing.MeasureInterleaved([]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Timing.Measure(() => { }, repeats: 0));
    }

    [Fact]
    public void GemmBenchmarkReportsFlopRateOfTheMedian()
    {
        var r = GemmBenchmark.Run(size: 40, precision: Precision.F32, threads: 1, repeats: 3);
        Assert.Equal((BackendKind.Cpu, Precision.F32, 40, 1, 3), (r.Backend, r.Precision, r.Size, r.Threads, r.Repeats));
        Assert.Equal(2.0 * 40 * 40 * 40 / r.SecondsMedian * 1e-9, r.Gflops, 1e-9);
        Assert.True(r.SecondsMin <= r.SecondsMedian && r.SecondsMedian <= r.SecondsMax);
        Assert.Throws<ArgumentException>(() => GemmBenchmark.Run(40, Precision.F64, 1, 1, backend: BackendKind.Reference));
        Assert.Throws<ArgumentOutOfRangeException>(() => GemmBenchmark.Run(0, Precision.F64, 1, 1));
    }
}
