using Flatness.Kernels.Cpu;

namespace Flatness.Tests;

public class CpuThreadsTests
{
    [Fact]
    public async Task ALimitHoldsInItsScopeAndTheTasksItStartsAndIsRestoredAfter()
    {
        int process = Gemm.MaxThreads;
        Assert.Equal(process, CpuThreads.Available);
        using (CpuThreads.Limit(1))
        {
            Assert.Equal(1, CpuThreads.Available);
            Assert.Equal(1, await Task.Run(() => CpuThreads.Available));
            using (CpuThreads.Limit(process + 5)) Assert.Equal(1, CpuThreads.Available); // a nested scope never raises it
            Assert.Equal(1, CpuThreads.Available);
        }
        Assert.Equal(process, CpuThreads.Available);
        using (CpuThreads.Limit(process + 5)) Assert.Equal(process, CpuThreads.Available); // never above the process cap

        // Another thread's calls are not limited by this thread's scope.
        using var started = new ManualResetEventSlim();
        using var read = new ManualResetEventSlim();
        int other = -1;
        var thread = new Thread(() => { started.Wait(); other = CpuThreads.Available; read.Set(); });
        thread.Start();
        using (CpuThreads.Limit(1))
        {
            started.Set();
            read.Wait();
        }
        thread.Join();
        Assert.Equal(process, other);
        Assert.Throws<ArgumentOutOfRangeException>(() => CpuThreads.Limit(0));
    }

    [Fact]
    public void ProductsUnderALimitEqualTheUnlimitedOnes()
    {
        var rng = new Random(3);
        int n = 300;
        var a = Enumerable.Range(0, n * n).Select(_ => rng.NextDouble() - 0.5).ToArray();
        var b = Enumerable.Range(0, n * n).Select(_ => rng.NextDouble() - 0.5).ToArray();
        var free = new double[n * n];
        var limited = new double[n * n];
        Gemm.Compute(Op.None, Op.None, n, n, n, 1.0, a, n, b, n, 0.0, free, n);
        using (CpuThreads.Limit(1)) Gemm.Compute(Op.None, Op.None, n, n, n, 1.0, a, n, b, n, 0.0, limited, n);
        Assert.Equal(free, limited); // every element is one dot product in the same order, whoever computes it
    }
}
