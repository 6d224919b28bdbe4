namespace Flatness.Kernels.Cpu;

/// <summary>A unit of parallel work: part <c>part</c> of <c>parts</c>, each run exactly once.</summary>
internal interface IParallelJob
{
    void Execute(int part, int parts);
}

/// <summary>
/// Long-lived worker threads for the kernels. A call publishes one job, wakes the workers it needs with a
/// fresh work object (they spin briefly after each job, so back-to-back calls wake them without a system call,
/// then sleep on a monitor), runs part 0 on the calling thread and waits for the rest.
/// One job at a time: a caller that finds the pool busy (another thread, or a nested call) runs alone.
/// </summary>
internal sealed class WorkerPool
{
    /// <summary>How long an idle worker keeps polling before it sleeps.</summary>
    private static readonly long SpinTicks = System.Diagnostics.Stopwatch.Frequency / 2000; // 0.5 ms

    public static WorkerPool Shared { get; } = new();

    private readonly object _gate = new();
    private readonly List<Thread> _threads = [];
    private Work? _current;
    private int _pending;
    private int _busy;
    private Exception? _failure;

    /// <summary>Runs <paramref name="job"/> as <paramref name="parts"/> parts on up to that many threads.</summary>
    public void Run(IParallelJob job, int parts)
    {
        if (parts <= 1 || Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
        {
            for (int part = 0; part < parts; part++) job.Execute(part, parts);
            return;
        }
        try
        {
            EnsureWorkers(parts - 1);
            _failure = null;
            Volatile.Write(ref _pending, parts - 1);
            lock (_gate)
            {
                Volatile.Write(ref _current, new Work(job, parts));
                Monitor.PulseAll(_gate);
            }
            try
            {
                job.Execute(0, parts);
            }
            finally
            {
                // Even if part 0 failed, the workers may still be reading the caller's (pinned) buffers.
                var spin = new SpinWait();
                while (Volatile.Read(ref _pending) != 0) spin.SpinOnce(sleep1Threshold: -1);
            }
            if (_failure is { } failure)
                throw new AggregateException("a worker thread failed", failure);
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
    }

    /// <summary>One published job; a fresh object per call, so a worker tells a new job from the last by reference.</summary>
    private sealed class Work(IParallelJob job, int parts)
    {
        public IParallelJob Job { get; } = job;
        public int Parts { get; } = parts;
    }

    private void EnsureWorkers(int count)
    {
        lock (_gate)
        {
            while (_threads.Count < count)
            {
                int index = _threads.Count + 1;
                Work? last = _current; // published before this worker existed: not its business
                var thread = new Thread(() => WorkerLoop(index, last))
                {
                    IsBackground = true,
                    Name = $"Flatness kernel worker {index}",
                };
                _threads.Add(thread);
                thread.Start();
            }
        }
    }

    private void WorkerLoop(int index, Work? seen)
    {
        while (true)
        {
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            var spin = new SpinWait();
            Work? work;
            while ((work = Volatile.Read(ref _current)) == seen)
            {
                if (System.Diagnostics.Stopwatch.GetTimestamp() - start < SpinTicks)
                {
                    spin.SpinOnce(sleep1Threshold: -1);
                    continue;
                }
                lock (_gate)
                {
                    while (_current == seen) Monitor.Wait(_gate);
                }
            }
            seen = work;
            if (work is null || index >= work.Parts) continue;
            try
            {
                work.Job.Execute(index, work.Parts);
            }
            catch (Exception e)
            {
                _failure = e;
            }
            Interlocked.Decrement(ref _pending);
        }
    }
}
