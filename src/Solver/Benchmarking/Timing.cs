using System.Diagnostics;

namespace Flatness.Solver.Benchmarking;

/// <summary>Seconds per call of one timed action: the median (and spread) of repeated samples after warm-up.</summary>
/// <param name="MedianSeconds">median over samples of the mean seconds per call within a sample.</param>
/// <param name="MinSeconds">fastest sample.</param>
/// <param name="MaxSeconds">slowest sample.</param>
/// <param name="Samples">number of timed samples.</param>
/// <param name="CallsPerSample">calls averaged within one sample (so that a sample lasts long enough to time).</param>
internal sealed record TimingResult(double MedianSeconds, double MinSeconds, double MaxSeconds, int Samples, int CallsPerSample);

/// <summary>
/// Wall-clock timing for benchmarks on a noisy, shared machine: warm up (JIT, caches, worker threads), then take
/// repeated samples and report medians. Several candidates are sampled in alternation (A B A B ...) so that
/// background load affects them alike and their ratio is fair.
/// </summary>
internal static class Timing
{
    /// <summary>Times one action; see <see cref="MeasureInterleaved"/>.</summary>
    public static TimingResult Measure(Action action, int repeats = 7, double warmupSeconds = 0.2,
        double minSampleSeconds = 0.02)
        => MeasureInterleaved([action], repeats, warmupSeconds, minSampleSeconds)[0];

    /// <summary>
    /// Idle time between the samples of two different actions, long enough for the worker threads of a threaded
    /// library to stop spinning and go to sleep (OpenBLAS spins about 0.1 s after each call by default): a spinning
    /// thread left over from one candidate would otherwise take a core from the next one.
    /// </summary>
    public const double DefaultSettleSeconds = 0.2;

    /// <summary>
    /// Times each action: warm-up of at least <paramref name="warmupSeconds"/> (and two calls) each, which also
    /// sizes a sample to about <paramref name="minSampleSeconds"/>; then <paramref name="repeats"/> rounds, each
    /// timing one sample of every action in turn. With several actions, waits <paramref name="settleSeconds"/>
    /// before each action's warm-up and samples (see <see cref="DefaultSettleSeconds"/>).
    /// Returns one result per action, in order.
    /// </summary>
    public static TimingResult[] MeasureInterleaved(IReadOnlyList<Action> actions, int repeats = 7,
        double warmupSeconds = 0.2, double minSampleSeconds = 0.02, double settleSeconds = DefaultSettleSeconds)
    {
        ArgumentNullException.ThrowIfNull(actions);
        if (actions.Count == 0)
            throw new ArgumentException("nothing to time: the list of actions is empty", nameof(actions));
        if (repeats < 1)
            throw new ArgumentOutOfRangeException(nameof(repeats), $"repeats must be at least 1, got {repeats}");
        if (!(warmupSeconds >= 0) || !(minSampleSeconds >= 0) || !(settleSeconds >= 0))
            throw new ArgumentOutOfRangeException(nameof(warmupSeconds), "warm-up, sample and settle durations must be >= 0");
        var settle = TimeSpan.FromSeconds(actions.Count > 1 ? settleSeconds : 0);

        var calls = new int[actions.Count];
        for (int i = 0; i < actions.Count; i++)
        {
            Thread.Sleep(settle);
            var watch = Stopwatch.StartNew();
            int count = 0;
            do
            {
                actions[i]();
                count++;
            } while (count < 2 || watch.Elapsed.TotalSeconds < warmupSeconds);
            double perCall = watch.Elapsed.TotalSeconds / count;
            calls[i] = (int)Math.Clamp(Math.Ceiling(minSampleSeconds / Math.Max(perCall, 1e-9)), 1, int.MaxValue);
        }

        var samples = new double[actions.Count][];
        for (int i = 0; i < actions.Count; i++) samples[i] = new double[repeats];
        for (int r = 0; r < repeats; r++)
        {
            for (int i = 0; i < actions.Count; i++)
            {
                Thread.Sleep(settle);
                long start = Stopwatch.GetTimestamp();
                for (int call = 0; call < calls[i]; call++) actions[i]();
                samples[i][r] = Stopwatch.GetElapsedTime(start).TotalSeconds / calls[i];
            }
        }

        var results = new TimingResult[actions.Count];
        for (int i = 0; i < actions.Count; i++)
        {
            double[] s = samples[i];
            Array.Sort(s);
            results[i] = new TimingResult(Median(s), s[0], s[^1], repeats, calls[i]);
        }
        return results;
    }

    /// <summary>Median of sorted values (mean of the two middle ones for an even count).</summary>
    private static double Median(double[] sorted)
    {
        int n = sorted.Length;
        return n % 2 == 1 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
    }
}
