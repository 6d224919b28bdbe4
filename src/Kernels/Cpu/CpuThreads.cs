namespace Flatness.Kernels.Cpu;

/// <summary>
/// How many threads the CPU kernels may use for the calls made on this thread (and the tasks it starts):
/// <see cref="Gemm.MaxThreads"/> for the process, lowered inside a <see cref="Limit"/> scope. Two evaluators in one
/// process can so run with different thread counts without touching a global setting.
/// </summary>
public static class CpuThreads
{
    private static readonly AsyncLocal<int> s_limit = new(); // 0: no scope

    /// <summary>The threads one kernel call may use here: the innermost scope's limit, never above <see cref="Gemm.MaxThreads"/>.</summary>
    public static int Available => s_limit.Value > 0 ? Math.Min(s_limit.Value, Gemm.MaxThreads) : Gemm.MaxThreads;

    /// <summary>
    /// Until the returned scope is disposed, kernel calls on this thread and the tasks it starts use at most
    /// <paramref name="threads"/> threads (a nested scope can only lower the limit further).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="threads"/> below 1.</exception>
    public static Scope Limit(int threads)
    {
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), $"thread limit must be at least 1, got {threads}");
        int previous = s_limit.Value;
        s_limit.Value = previous > 0 ? Math.Min(previous, threads) : threads;
        return new Scope(previous);
    }

    /// <summary>Restores the limit that held before <see cref="Limit"/> when disposed.</summary>
    public readonly struct Scope : IDisposable
    {
        private readonly int _previous;
        internal Scope(int previous) => _previous = previous;

        /// <summary>Ends the scope.</summary>
        public void Dispose() => s_limit.Value = _previous;
    }
}
