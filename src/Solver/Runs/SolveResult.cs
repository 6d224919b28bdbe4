using Flatness.Kernels.Tensors;
using Flatness.Solver.Backends;
using Flatness.Solver.Metrics;
using Flatness.Solver.Model;
using Flatness.Solver.Optimizers;
using Flatness.Solver.Problems;
using Flatness.Solver.Problems.NumPy;

namespace Flatness.Solver.Runs;

/// <summary>The outcome of a <see cref="SolveRequest"/>.</summary>
public sealed class SolveResult
{
    /// <summary>The method that ran.</summary>
    public required SolveMethod Method { get; init; }
    /// <summary>The problem it solved (loaded or generated).</summary>
    public required SensingProblem Problem { get; init; }
    /// <summary>[d_0, .., d_L] of the model (for the baselines: of the flattest factorisation the metrics use).</summary>
    public required int[] Dims { get; init; }
    /// <summary>Metrics of the final point (baselines: see <see cref="RunMetrics.AtEndToEnd"/>).</summary>
    public required PointMetrics Metrics { get; init; }
    /// <summary>The final layers; null for the baselines.</summary>
    public Factorization? Layers { get; init; }
    /// <summary>E, the end-to-end matrix of the solution.</summary>
    public Matrix<double> EndToEnd => Metrics.EndToEnd;
    /// <summary>The metric rows recorded during the run (see <see cref="SolveRequest.HistoryEvery"/>).</summary>
    public required RunHistory History { get; init; }
    /// <summary>Steps taken (L-BFGS iterations for L-BFGS methods, ADMM iterations for nuclear, 0 for min-frobenius).</summary>
    public required long Steps { get; init; }
    /// <summary>Wall-clock seconds of the solve: evaluator set-up, optimisation and final metrics.</summary>
    public required double Seconds { get; init; }
    /// <summary>Steps undone because the objective blew up or was not finite (each halves the step size).</summary>
    public required int Backoffs { get; init; }
    /// <summary>The step size the method ended with (halved once per back-off); NaN for methods without one.</summary>
    public double FinalLearningRate { get; init; } = double.NaN;
    /// <summary>Why the run stopped ("max-steps", "loss-tolerance", "converged", ...).</summary>
    public required string StopReason { get; init; }
    /// <summary>The evaluator the selector chose, and why.</summary>
    public required Choice Evaluator { get; init; }
    /// <summary>The step the run resumed at from <see cref="SolveRequest.CheckpointFile"/>; null when it started afresh.</summary>
    public long? ResumedAtStep { get; init; }
    /// <summary>Method parameters as used (defaults filled in), for reports.</summary>
    public required IReadOnlyList<KeyValuePair<string, double>> Parameters { get; init; }

    /// <summary>
    /// The run file's arrays: W1 .. WL (or E for the baselines) and the history columns history_step, history_loss, ...
    /// </summary>
    public IReadOnlyList<NpyArray> OutputArrays()
    {
        var arrays = new List<NpyArray>();
        if (Layers is not null) arrays.AddRange(Layers.Layers.Select((w, j) => NpyArray.FromMatrix($"W{j + 1}", w)));
        else arrays.Add(NpyArray.FromMatrix("E", EndToEnd));
        foreach (var (name, values) in History.Columns()) arrays.Add(NpyArray.Float(name, [values.Length], values));
        return arrays;
    }

    /// <summary>Writes <see cref="OutputArrays"/> to an .npz file atomically (a temporary name, then a rename).</summary>
    public void Save(string path) => ProblemFiles.WriteArrays(path, OutputArrays());
}
