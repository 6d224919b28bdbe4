namespace Flatness.Solver.Runs;

/// <summary>What <see cref="SolveRunner"/> runs (the command-line names are in <see cref="SolveMethods.Name"/>).</summary>
public enum SolveMethod
{
    /// <summary>"flat": gradient descent on L + lambda tr H.</summary>
    Flat,
    /// <summary>"penalty": the flattest interpolant, L-BFGS on tr H + mu L with mu growing per stage.</summary>
    Penalty,
    /// <summary>"gd": gradient descent on L.</summary>
    Gd,
    /// <summary>"label-noise": one-sample SGD with Gaussian label noise.</summary>
    LabelNoise,
    /// <summary>"sam": full-batch sharpness-aware minimisation.</summary>
    Sam,
    /// <summary>"one-sam": one-sample SAM.</summary>
    OneSam,
    /// <summary>"weight-decay": L + mu sum ||W_j||_F^2.</summary>
    WeightDecay,
    /// <summary>"nuclear": min ||M||_* subject to A(M) = b, by ADMM (a baseline: no layers).</summary>
    Nuclear,
    /// <summary>"min-frobenius": the least-norm solution of A(M) = b (a baseline: no layers).</summary>
    MinFrobenius,
}

/// <summary>The parameters a method can take (each maps to one command-line option).</summary>
[Flags]
public enum MethodParameters
{
    /// <summary>No parameters.</summary>
    None = 0,
    /// <summary><see cref="SolveRequest.Lambda"/>.</summary>
    Lambda = 1,
    /// <summary><see cref="SolveRequest.LearningRate"/>.</summary>
    LearningRate = 2,
    /// <summary><see cref="SolveRequest.Steps"/>.</summary>
    Steps = 4,
    /// <summary><see cref="SolveRequest.Sigma"/>.</summary>
    Sigma = 8,
    /// <summary><see cref="SolveRequest.Rho"/>.</summary>
    Rho = 16,
    /// <summary><see cref="SolveRequest.Mu"/>.</summary>
    Mu = 32,
}

/// <summary>Names of the methods, and which parameters apply to each.</summary>
public static class SolveMethods
{
    private static readonly (SolveMethod Method, string Name, MethodParameters Parameters, string Description)[] Table =
    [
        (SolveMethod.Flat, "flat", MethodParameters.Lambda | MethodParameters.LearningRate | MethodParameters.Steps,
            "gradient descent on L + lambda tr H"),
        (SolveMethod.Penalty, "penalty", MethodParameters.Mu | MethodParameters.Steps,
            "flattest interpolant: L-BFGS on tr H + mu L, mu x10 per stage (mu: the first stage's)"),
        (SolveMethod.Gd, "gd", MethodParameters.LearningRate | MethodParameters.Steps, "gradient descent on L"),
        (SolveMethod.LabelNoise, "label-noise", MethodParameters.LearningRate | MethodParameters.Sigma | MethodParameters.Steps,
            "one-sample SGD with Gaussian label noise sigma"),
        (SolveMethod.Sam, "sam", MethodParameters.LearningRate | MethodParameters.Rho | MethodParameters.Steps,
            "full-batch sharpness-aware minimisation, radius rho"),
        (SolveMethod.OneSam, "one-sam", MethodParameters.LearningRate | MethodParameters.Rho | MethodParameters.Steps,
            "one-sample SAM, radius rho"),
        (SolveMethod.WeightDecay, "weight-decay", MethodParameters.Mu | MethodParameters.LearningRate | MethodParameters.Steps,
            "L + mu sum ||W_j||_F^2 by L-BFGS (by gradient descent when a learning rate is given)"),
        (SolveMethod.Nuclear, "nuclear", MethodParameters.Steps, "min ||M||_* s.t. A(M) = b by ADMM (steps: iterations)"),
        (SolveMethod.MinFrobenius, "min-frobenius", MethodParameters.None, "least-norm solution of A(M) = b"),
    ];

    /// <summary>The command-line names of all methods, in order.</summary>
    public static IReadOnlyList<string> Names => Table.Select(t => t.Name).ToArray();

    /// <summary>The command-line name ("flat", "label-noise", ...).</summary>
    public static string Name(this SolveMethod method) => Table.First(t => t.Method == method).Name;

    /// <summary>One line on what the method minimises.</summary>
    public static string Description(this SolveMethod method) => Table.First(t => t.Method == method).Description;

    /// <summary>The parameters that apply to the method (others are rejected).</summary>
    public static MethodParameters Parameters(this SolveMethod method) => Table.First(t => t.Method == method).Parameters;

    /// <summary>The convex baselines return an end-to-end matrix, not layers.</summary>
    public static bool IsBaseline(this SolveMethod method) => method is SolveMethod.Nuclear or SolveMethod.MinFrobenius;

    /// <summary>The method of a command-line name.</summary>
    /// <exception cref="ArgumentException">an unknown name (the message lists the valid ones).</exception>
    public static SolveMethod Parse(string name)
    {
        foreach (var t in Table)
            if (t.Name == name) return t.Method;
        throw new ArgumentException($"unknown method '{name}'; valid methods: {string.Join(", ", Names)}");
    }
}
