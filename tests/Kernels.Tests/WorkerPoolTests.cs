using System.Collections.Concurrent;
using Flatness.Kernels.Cpu;

namespace Flatness.Tests;

public class WorkerPoolTests
{
    // A pool of its own, so that GEMM tests running in parallel cannot make it busy.
    private readonly WorkerPool _pool = new();

    private sealed class Recorder(Action<int>? body = null) : IParallelJob
    {
        public ConcurrentDictionary<int, int> Runs { get; } = new();
        public ConcurrentDictionary<int, int> Threads { get; } = new();

        public void Execute(int part, int parts)
        {
            Runs.AddOrUpdate(part, 1, (_, n) => n + 1);
            Threads[part] = Environment.CurrentManagedThreadId;
            body?.Invoke(part);
        }
    }

    [Fact]
    public void EveryPartRunsExactlyOnceAndPartZeroOnTheCaller()
    {
        for (int round = 0; round < 50; round++)
        {
            int parts = 1 + round % 4;
            var job = new Recorder();
            _pool.Run(job, parts);
            Assert.Equal(Enumerable.Range(0, parts), job.Runs.Keys.Order());
            Assert.All(job.Runs.Values, n => Assert.Equal(1, n));
            Assert.Equal(Environment.CurrentManagedThreadId, job.Threads[0]);
        }
    }

    [Fact]
    public void FailuresReachTheCallerAfterAllPartsFinished()
    {
        int finished = 0;
        var workerFails = new Recorder(part =>
        {
            if (part == 1) throw new InvalidOperationException("part 1 failed");
            Thread.Sleep(20);
            Interlocked.Increment(ref finished);
        });
        var e = Assert.Throws<AggregateException>(() => _pool.Run(workerFails, 2));
        Assert.IsType<InvalidOperationException>(e.InnerException);
        Assert.Equal(1, finished);

        finished = 0;
        var callerFails = new Recorder(part =>
        {
            if (part == 0) throw new InvalidOperationException("part 0 failed");
            Thread.Sleep(50);
            Interlocked.Increment(ref finished);
        });
        Assert.Throws<InvalidOperationException>(() => _pool.Run(callerFails, 2));
        Assert.Equal(1, finished); // the caller waited for the worker before rethrowing

        var fine = new Recorder();
        _pool.Run(fine, 2); // the pool is usable again
        Assert.Equal(2, fine.Runs.Count);
    }

    [Fact]
    public void NestedCallsRunOnTheCallingThread()
    {
        Recorder? inner = null;
        var outer = new Recorder(part =>
        {
            if (part != 1) return;
            inner = new Recorder();
            _pool.Run(inner, 3);
        });
        _pool.Run(outer, 2);
        Assert.NotNull(inner);
        Assert.Equal(3, inner!.Runs.Count);
        Assert.Single(inner.Threads.Values.Distinct());
    }
}
