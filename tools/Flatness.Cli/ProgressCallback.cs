namespace Flatness.Cli;

/// <summary>
/// Reports on the caller's thread, at once (System.Progress posts to the thread pool, which would let a progress
/// display fall behind the run or outlive it).
/// </summary>
internal sealed class ProgressCallback<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
