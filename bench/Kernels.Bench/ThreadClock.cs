using System.Runtime.InteropServices;

namespace Flatness.Bench;

/// <summary>
/// CPU time of the calling thread (Linux CLOCK_THREAD_CPUTIME_ID). On a machine shared with other work, a
/// single-threaded kernel timed by its own CPU time is not charged for the time other processes held the core,
/// which makes kernel tuning possible under load. Meaningless for multi-threaded calls.
/// </summary>
internal static partial class ThreadClock
{
    private const int ClockThreadCpuTime = 3;

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, out TimeSpec time);

    public static bool IsAvailable { get; } = OperatingSystem.IsLinux();

    public static double Seconds()
    {
        if (ClockGetTime(ClockThreadCpuTime, out var t) != 0)
            throw new InvalidOperationException("clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
        return t.Seconds + t.Nanoseconds * 1e-9;
    }

    /// <summary>Per-call thread CPU seconds of each action, sampled in alternation; returns (median, min) per action.</summary>
    public static (double Median, double Min)[] MeasureInterleaved(IReadOnlyList<Action> actions, int repeats, double sampleSeconds)
    {
        var calls = new int[actions.Count];
        for (int i = 0; i < actions.Count; i++)
        {
            double start = Seconds();
            int count = 0;
            do { actions[i](); count++; } while (count < 2 || Seconds() - start < 0.2);
            calls[i] = Math.Max(1, (int)Math.Ceiling(sampleSeconds / ((Seconds() - start) / count)));
        }
        var samples = new double[actions.Count][];
        for (int i = 0; i < actions.Count; i++) samples[i] = new double[repeats];
        for (int r = 0; r < repeats; r++)
            for (int i = 0; i < actions.Count; i++)
            {
                double start = Seconds();
                for (int c = 0; c < calls[i]; c++) actions[i]();
                samples[i][r] = (Seconds() - start) / calls[i];
            }
        return samples.Select(s => { Array.Sort(s); return (s[s.Length / 2], s[0]); }).ToArray();
    }
}
