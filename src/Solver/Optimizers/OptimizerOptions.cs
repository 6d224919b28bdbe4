namespace Flatness.Solver.Optimizers;

/// <summary>Stopping rules, history, safety and progress, shared by every optimiser.</summary>
public record OptimizerOptions
{
    /// <summary>Maximum number of steps (parameter updates; L-BFGS iterations for the L-BFGS methods).</summary>
    public long MaxSteps { get; init; } = 10_000;
    /// <summary>Stop once the loss is at most this times the null loss ||b||^2 / n (0: off).</summary>
    public double LossTolerance { get; init; }
    /// <summary>Stop once the Frobenius norm of the objective's gradient is at most this (0: off).</summary>
    public double GradientTolerance { get; init; }
    /// <summary>Stop once one step changes the objective by at most this, relative to its size (0: off).</summary>
    public double ObjectiveTolerance { get; init; }
    /// <summary>Optional wall-clock limit.</summary>
    public TimeSpan? TimeLimit { get; init; }
    /// <summary>Record a history row every this many steps, plus the first and the last (0: no history).</summary>
    public int HistoryEvery { get; init; } = 100;
    /// <summary>
    /// Every this many steps (and at the first and last row) record the sharpness lambda_max of the loss Hessian, by
    /// Lanczos on the exact Hessian-vector product warm-started from the last top eigenvector (0: off).
    /// </summary>
    public int TrackSharpness { get; init; }
    /// <summary>
    /// A step whose objective exceeds this factor times the best objective so far (or that is not finite) is undone
    /// and the step size halved: one back-off.
    /// </summary>
    public double BlowupFactor { get; init; } = 10.0;
    /// <summary>The run stops as diverged after this many back-offs.</summary>
    public int MaxBackoffs { get; init; } = 60;
    /// <summary>Told now and then (at most about 200 times a run, and at its end) where the run stands, on the run's thread.</summary>
    public IProgress<ProgressReport>? Progress { get; init; }
    /// <summary>
    /// Stops the run at the next step once cancelled: the result is the last accepted iterate, with
    /// <see cref="StopReason.Cancelled"/> (nothing is thrown, nothing computed so far is lost).
    /// </summary>
    public CancellationToken Cancellation { get; init; }
    /// <summary>Save the run's state now and then, and when it is cancelled or out of time (null: never).</summary>
    public CheckpointPolicy? Checkpoints { get; init; }
    /// <summary>
    /// Continue the run that wrote this checkpoint instead of starting from the given point (the options and the problem
    /// must be those of that run; the start is then only used for its shapes).
    /// </summary>
    public OptimizerCheckpoint? ResumeFrom { get; init; }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first invalid option.</summary>
    public virtual void Validate()
    {
        if (MaxSteps < 0) throw new ArgumentOutOfRangeException(nameof(MaxSteps), $"steps must be >= 0, got {MaxSteps}");
        RequireNonNegative(LossTolerance, "loss tolerance");
        RequireNonNegative(GradientTolerance, "gradient tolerance");
        RequireNonNegative(ObjectiveTolerance, "objective tolerance");
        if (TimeLimit is { } t && t <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(TimeLimit), $"time limit must be positive, got {t}");
        if (HistoryEvery < 0) throw new ArgumentOutOfRangeException(nameof(HistoryEvery), $"history interval must be >= 0, got {HistoryEvery}");
        if (TrackSharpness < 0) throw new ArgumentOutOfRangeException(nameof(TrackSharpness), $"--track-sharpness must be >= 0, got {TrackSharpness}");
        if (!(BlowupFactor > 1) || !double.IsFinite(BlowupFactor))
            throw new ArgumentOutOfRangeException(nameof(BlowupFactor), $"blow-up factor must be finite and > 1, got {BlowupFactor}");
        if (MaxBackoffs < 0) throw new ArgumentOutOfRangeException(nameof(MaxBackoffs), $"max back-offs must be >= 0, got {MaxBackoffs}");
        if (Checkpoints is { } c && c.Every < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(Checkpoints), $"checkpoint interval must be >= 0, got {c.Every}");
    }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming <paramref name="name"/> unless the value is finite and positive.</summary>
    protected static void RequirePositive(double value, string name)
    {
        if (!(value > 0) || !double.IsFinite(value))
            throw new ArgumentOutOfRangeException(name, $"{name} must be finite and positive, got {value}");
    }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming <paramref name="name"/> unless the value is finite and at least 0.</summary>
    protected static void RequireNonNegative(double value, string name)
    {
        if (!(value >= 0) || !double.IsFinite(value))
            throw new ArgumentOutOfRangeException(name, $"{name} must be finite and >= 0, got {value}");
    }
}

/// <summary><c>gd</c>: gradient descent on the loss.</summary>
public sealed record GradientDescentOptions : OptimizerOptions
{
    /// <summary>The step size.</summary>
    public double LearningRate { get; init; } = 0.05;
    /// <summary>Armijo backtracking from <see cref="LearningRate"/> (halving until sufficient decrease).</summary>
    public bool Backtracking { get; init; }

    /// <inheritdoc/>
    public override void Validate()
    {
        base.Validate();
        RequirePositive(LearningRate, "learning rate");
    }
}

/// <summary><c>flat</c>: gradient descent on loss + lambda tr H with the exact gradient.</summary>
public sealed record FlatOptions : OptimizerOptions
{
    /// <summary>The weight of tr H in L + lambda tr H.</summary>
    public double Lambda { get; init; } = 1e-3;
    /// <summary>The step size.</summary>
    public double LearningRate { get; init; } = 0.05;
    /// <summary>Armijo backtracking from <see cref="LearningRate"/> (halving until sufficient decrease).</summary>
    public bool Backtracking { get; init; }

    /// <inheritdoc/>
    public override void Validate()
    {
        base.Validate();
        RequireNonNegative(Lambda, "lambda");
        RequirePositive(LearningRate, "learning rate");
    }
}

/// <summary>
/// <c>penalty</c>: min tr H subject to zero loss, by minimising tr H + mu L with L-BFGS for mu = mu_0, mu_0 g, mu_0 g^2, ...
/// until the loss is at most <see cref="OptimizerOptions.LossTolerance"/> times ||b||^2 / n (default 1e-10).
/// </summary>
public sealed record PenaltyOptions : OptimizerOptions
{
    /// <summary>Penalty defaults: loss tolerance 1e-10, a history row every 10 iterations, 20000 L-BFGS iterations.</summary>
    public PenaltyOptions()
    {
        LossTolerance = 1e-10;
        HistoryEvery = 10;
        MaxSteps = 20_000;
    }

    /// <summary>mu_0; default 100 (d_0 d_L)^{1/L} (||b||^2/n)^{-1/L}, where the trace term still shrinks the solution only a little.</summary>
    public double? InitialMu { get; init; }
    /// <summary>Factor g by which mu grows from one stage to the next.</summary>
    public double Growth { get; init; } = 10.0;
    /// <summary>The most stages (values of mu) before the run stops with <see cref="StopReason.StageLimit"/>.</summary>
    public int MaxStages { get; init; } = 12;
    /// <summary>L-BFGS memory.</summary>
    public int Memory { get; init; } = 10;
    /// <summary>A stage ends when one L-BFGS iteration decreases tr H + mu L by at most this, relatively.</summary>
    public double StageTolerance { get; init; } = 1e-12;

    /// <inheritdoc/>
    public override void Validate()
    {
        base.Validate();
        if (InitialMu is double mu) RequirePositive(mu, "initial mu");
        if (!(Growth > 1) || !double.IsFinite(Growth)) throw new ArgumentOutOfRangeException(nameof(Growth), $"mu growth must be > 1, got {Growth}");
        if (MaxStages < 1) throw new ArgumentOutOfRangeException(nameof(MaxStages), $"stages must be >= 1, got {MaxStages}");
        if (Memory < 1) throw new ArgumentOutOfRangeException(nameof(Memory), $"L-BFGS memory must be >= 1, got {Memory}");
        RequireNonNegative(StageTolerance, "stage tolerance");
    }
}

/// <summary><c>label-noise</c>: one-sample SGD on (f_i - b_i - sigma xi)^2 with fresh xi ~ N(0, 1) every step.</summary>
public sealed record LabelNoiseOptions : OptimizerOptions
{
    /// <summary>Label-noise defaults: 100000 steps.</summary>
    public LabelNoiseOptions() => MaxSteps = 100_000;

    /// <summary>The step size.</summary>
    public double LearningRate { get; init; } = 0.01;
    /// <summary>Standard deviation of the label noise.</summary>
    public double Sigma { get; init; } = 0.1;
    /// <summary>Seed of the sample indices and the label noise.</summary>
    public int Seed { get; init; }
    /// <summary>The full loss is checked (and a good iterate saved) every this many steps.</summary>
    public int CheckEvery { get; init; } = 100;

    /// <inheritdoc/>
    public override void Validate()
    {
        base.Validate();
        RequirePositive(LearningRate, "learning rate");
        RequireNonNegative(Sigma, "sigma");
        if (CheckEvery < 1) throw new ArgumentOutOfRangeException(nameof(CheckEvery), $"check interval must be >= 1, got {CheckEvery}");
    }
}

/// <summary><c>sam</c>: full-batch sharpness-aware minimisation, W &lt;- W - lr grad L(W + rho g/||g||), g = grad L(W).</summary>
public sealed record SamOptions : OptimizerOptions
{
    /// <summary>The step size.</summary>
    public double LearningRate { get; init; } = 0.05;
    /// <summary>The SAM radius: the ascent step has length rho.</summary>
    public double Rho { get; init; } = 0.05;

    /// <inheritdoc/>
    public override void Validate()
    {
        base.Validate();
        RequirePositive(LearningRate, "learning rate");
        RequireNonNegative(Rho, "rho");
    }
}

/// <summary><c>one-sam</c>: SAM one sample at a time (ascent and descent on the same sampled measurement).</summary>
public sealed record OneSampleSamOptions : OptimizerOptions
{
    /// <summary>One-sample SAM defaults: 100000 steps.</summary>
    public OneSampleSamOptions() => MaxSteps = 100_000;

    /// <summary>The step size.</summary>
    public double LearningRate { get; init; } = 0.01;
    /// <summary>The SAM radius: the ascent step has length rho.</summary>
    public double Rho { get; init; } = 0.05;
    /// <summary>Seed of the sample indices.</summary>
    public int Seed { get; init; }
    /// <summary>The full loss is checked (and a good iterate saved) every this many steps.</summary>
    public int CheckEvery { get; init; } = 100;

    /// <inheritdoc/>
    public override void Validate()
    {
        base.Validate();
        RequirePositive(LearningRate, "learning rate");
        RequireNonNegative(Rho, "rho");
        if (CheckEvery < 1) throw new ArgumentOutOfRangeException(nameof(CheckEvery), $"check interval must be >= 1, got {CheckEvery}");
    }
}

/// <summary>
/// <c>weight-decay</c>: minimise L + mu sum_j ||W_j||_F^2, by L-BFGS, or by gradient descent when a learning rate is given.
/// </summary>
public sealed record WeightDecayOptions : OptimizerOptions
{
    /// <summary>The weight-decay coefficient mu.</summary>
    public double Mu { get; init; } = 1e-3;
    /// <summary>Null: L-BFGS; otherwise gradient descent with this step size.</summary>
    public double? LearningRate { get; init; }
    /// <summary>L-BFGS memory.</summary>
    public int Memory { get; init; } = 10;

    /// <inheritdoc/>
    public override void Validate()
    {
        base.Validate();
        RequireNonNegative(Mu, "mu");
        if (LearningRate is double lr) RequirePositive(lr, "learning rate");
        if (Memory < 1) throw new ArgumentOutOfRangeException(nameof(Memory), $"L-BFGS memory must be >= 1, got {Memory}");
    }
}
