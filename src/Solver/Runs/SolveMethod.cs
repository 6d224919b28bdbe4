namespace Flatness.Solver.Runs;

public enum SolveMethod { Flat, Penalty, Gd, LabelNoise, Sam, OneSam, WeightDecay, Nuclear, MinFrobenius }

/// <summary>The parameters a method can take (each maps to one command-line option).</summary>
[Flags]
public enum MethodParameters
{
    None = 0,
    Lambda = 1,
    LearningRate = 2,
    Steps = 4,
    Sigma = 8,
    Rho = 16,
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

    public static IReadOnlyList<string> Names => Table.Select(t => t.Name).ToArray();

    public static string Name(this SolveMethod method) => Table.First(t => t.Method == method).Name;

    public static string Description(this SolveMethod method) => Table.First(t => t.Method == method).Description;

    public static MethodParameters Parameters(this SolveMethod method) => Table.First(t => t.Method == method).Parameters;

    /// <summary>The convex baselines return an end-to-end matrix, not layers.</summary>
    public static bool IsBaseline(this SolveMethod method) => method is SolveMethod.Nuclear or SolveMethod.MinFrobenius;

    public static SolveMethod Parse(string name)
    {
        foreach (var t in Table)
            if (t.Name == name) return t.Method;
        throw new ArgumentException($"unknown method '{name}'; valid methods: {string.Join(", ", Names)}");
    }
}
