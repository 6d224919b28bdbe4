using Flatness.Kernels.Cpu;
using Flatness.Solver.Backends.Cpu;
using Flatness.Solver.Problems;

namespace Flatness.Solver.Backends;

/// <summary>
/// Creates evaluators: <see cref="EvaluatorSelector"/> decides device, path and precision, <see cref="Create(SensingProblem, IReadOnlyList{int}, Choice, Action{string}?, int?, CancellationToken)"/>
/// builds the one chosen. A new device is one more case here (and its costs in the selector).
/// </summary>
public static class Evaluators
{
    /// <summary>An evaluator for <paramref name="problem"/> and factorisations of shape <paramref name="dims"/> = [d_0, .., d_L].</summary>
    public static IEvaluator Create(SensingProblem problem, IReadOnlyList<int> dims, EvaluatorOptions? options = null)
    {
        options ??= new EvaluatorOptions();
        return Create(problem, dims, EvaluatorSelector.Choose(problem, dims, options), options.Warn, options.Threads, options.Cancellation);
    }

    /// <summary>
    /// Builds the evaluator a <see cref="Choice"/> names. An ILGPU device that fails to start, compile or allocate falls
    /// back to the CPU evaluator on the same path, with one line to <paramref name="warn"/>. <paramref name="threads"/>
    /// caps the CPU threads of its setup and of every call (see <see cref="EvaluatorOptions.Threads"/>);
    /// <paramref name="cancellation"/> stops the setup of the Gram matrix, on the CPU or a GPU (see <see cref="EvaluatorOptions.Cancellation"/>).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="threads"/> below 1.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellation"/> was cancelled during the setup.</exception>
    public static IEvaluator Create(SensingProblem problem, IReadOnlyList<int> dims, Choice choice, Action<string>? warn = null, int? threads = null,
        CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(choice);
        cancellation.ThrowIfCancellationRequested();
        if (threads is not int limit) return Build(problem, dims, choice, warn, cancellation);
        using var scope = CpuThreads.Limit(limit); // also refuses a limit below 1, before any work
        return new ThreadLimitedEvaluator(Build(problem, dims, choice, warn, cancellation), limit);
    }

    private static IEvaluator Build(SensingProblem problem, IReadOnlyList<int> dims, Choice choice, Action<string>? warn, CancellationToken cancellation)
    {
        if (choice.Backend == BackendKind.Reference) return new ReferenceEvaluator(problem);
        if (choice.Backend == BackendKind.Cpu) return CpuBackend.Create(problem, dims, choice.Path, choice.Precision, cancellation);
        if (GpuBackend.TryCreate(problem, dims, choice.Path, choice.Precision, GpuBackend.KindOf(choice.Backend), out var evaluator, out var warning, cancellation))
            return evaluator!;
        warn?.Invoke(warning!);
        var cpu = EvaluatorSelector.Choose(problem, dims, new EvaluatorOptions { Backend = BackendKind.Cpu, Path = choice.Path, Precision = choice.Precision });
        return CpuBackend.Create(problem, dims, cpu.Path, cpu.Precision, cancellation);
    }
}
