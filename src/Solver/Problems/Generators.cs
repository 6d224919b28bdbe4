using Flatness.Solver;
using Flatness.Solver.Randomness;
using Flatness.Kernels.Tensors;

namespace Flatness.Solver.Problems;

/// <summary>The synthetic problem families of docs/MATH.md section 5.</summary>
public enum ProblemKind
{
    /// <summary>A_i with i.i.d. N(0, 1) entries: E&lt;A, M&gt;^2 = ||M||_F^2.</summary>
    Gaussian,
    /// <summary>A_i = s e_a e_b^T at uniformly drawn entries (a, b).</summary>
    Completion,
    /// <summary>A_i = u_i v_i^T with u_i, v_i standard Gaussian vectors.</summary>
    RankOne,
    /// <summary>The scaled full basis sqrt(d_0 d_L) e_a e_b^T, n = d_0 d_L, stored as dense matrices.</summary>
    Basis,
    /// <summary>The same basis stored as completion measurements (every entry observed once).</summary>
    BasisCompletion,
}

/// <summary>
/// What to generate. Dimensions follow the model: M* is d_L x d_0 (<see cref="OutputDim"/> x <see cref="InputDim"/>).
/// <see cref="Count"/> is ignored for the basis kinds (n = d_0 d_L). <see cref="Scale"/> is the completion scale s
/// (default sqrt(d_0 d_L), which makes the operator isotropic: E&lt;A_i, M&gt;^2 = ||M||_F^2).
/// </summary>
public sealed record ProblemSpec(ProblemKind Kind, int InputDim, int OutputDim, int Rank, int Count,
    double Noise = 0.0, int Seed = 0, double? Scale = null);

/// <summary>
/// Reproducible synthetic sensing problems. Everything is drawn from one <see cref="NormalSampler"/> seeded with the
/// problem's seed, in a fixed order: the ground truth first (so M* depends only on the dimensions, the rank and the
/// seed), then the measurements, then the label noise. Ground truth: M* = U V^T with U (d_L x r) and V (d_0 x r)
/// standard Gaussian, divided by its Frobenius norm (||M*||_F = 1, rank r almost surely). Labels:
/// b = A(M*) + sigma xi with xi standard Gaussian.
/// </summary>
public static class Generators
{
    /// <summary>Generates the problem described by <paramref name="spec"/>.</summary>
    public static SensingProblem Generate(ProblemSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        bool basis = spec.Kind is ProblemKind.Basis or ProblemKind.BasisCompletion;
        Validate(spec.InputDim, spec.OutputDim, spec.Rank, basis ? 1 : spec.Count, spec.Noise);
        if (spec.Scale is double s && (!double.IsFinite(s) || s <= 0))
            throw new ArgumentOutOfRangeException(nameof(spec), $"completion scale must be finite and positive, got {s}");
        if (spec.Scale is not null && spec.Kind != ProblemKind.Completion)
            throw new ArgumentException($"a scale applies only to completion problems, not to {spec.Kind}", nameof(spec));

        RequireFits(spec);
        var rng = new NormalSampler(spec.Seed);
        var truth = LowRank(spec.OutputDim, spec.InputDim, spec.Rank, rng);
        Measurements measurements = spec.Kind switch
        {
            ProblemKind.Gaussian => GaussianMeasurements(spec.Count, spec.OutputDim, spec.InputDim, rng),
            ProblemKind.Completion => CompletionMeasurements(spec.Count, spec.OutputDim, spec.InputDim, rng, spec.Scale),
            ProblemKind.RankOne => RankOneMeasurements(spec.Count, spec.OutputDim, spec.InputDim, rng),
            ProblemKind.Basis => BasisMeasurements(spec.OutputDim, spec.InputDim, asCompletion: false),
            ProblemKind.BasisCompletion => BasisMeasurements(spec.OutputDim, spec.InputDim, asCompletion: true),
            _ => throw new ArgumentOutOfRangeException(nameof(spec), $"unknown problem kind {spec.Kind}"),
        };
        return Label(measurements, truth, spec.Noise, rng);
    }

    /// <summary>Gaussian sensing of a rank-r matrix, d_L x d_0, with n measurements.</summary>
    public static SensingProblem Gaussian(int inputDim, int outputDim, int rank, int count, double noise = 0.0, int seed = 0) =>
        Generate(new ProblemSpec(ProblemKind.Gaussian, inputDim, outputDim, rank, count, noise, seed));

    /// <summary>Matrix completion of a rank-r matrix; <paramref name="scale"/> defaults to sqrt(d_0 d_L).</summary>
    public static SensingProblem Completion(int inputDim, int outputDim, int rank, int count, double noise = 0.0, int seed = 0,
        double? scale = null) =>
        Generate(new ProblemSpec(ProblemKind.Completion, inputDim, outputDim, rank, count, noise, seed, scale));

    /// <summary>Rank-one measurements u_i v_i^T of a rank-r matrix.</summary>
    public static SensingProblem RankOne(int inputDim, int outputDim, int rank, int count, double noise = 0.0, int seed = 0) =>
        Generate(new ProblemSpec(ProblemKind.RankOne, inputDim, outputDim, rank, count, noise, seed));

    /// <summary>The scaled full basis (n = d_0 d_L), dense or as completion measurements.</summary>
    public static SensingProblem Basis(int inputDim, int outputDim, int rank, double noise = 0.0, int seed = 0, bool asCompletion = false) =>
        Generate(new ProblemSpec(asCompletion ? ProblemKind.BasisCompletion : ProblemKind.Basis, inputDim, outputDim, rank,
            checked(inputDim * outputDim), noise, seed));

    /// <summary>
    /// A rank-r matrix (rows x cols) with unit Frobenius norm: U V^T / ||U V^T||_F with U (rows x r), V (cols x r)
    /// standard Gaussian, U drawn first, both row-major.
    /// </summary>
    internal static Matrix<double> LowRank(int rows, int cols, int rank, NormalSampler rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        Validate(cols, rows, rank, 1, 0.0);
        var u = rng.Draw(checked(rows * rank));
        var v = rng.Draw(checked(cols * rank));
        var m = new Matrix<double>(rows, cols);
        for (int a = 0; a < rows; a++)
            for (int b = 0; b < cols; b++)
            {
                double s = 0;
                for (int k = 0; k < rank; k++) s += u[a * rank + k] * v[b * rank + k];
                m[a, b] = s;
            }
        double norm = 0;
        foreach (double x in m.Data) norm += x * x;
        norm = Math.Sqrt(norm);
        if (!(norm > 0))
            throw new ArgumentException($"the drawn ground truth vanished (seed {rng.Seed}); choose another seed");
        for (int t = 0; t < m.Length; t++) m.Data[t] /= norm;
        return m;
    }

    /// <summary>n dense measurements with i.i.d. N(0, 1) entries, drawn A_1 first, each row-major.</summary>
    internal static DenseMeasurements GaussianMeasurements(int count, int outputDim, int inputDim, NormalSampler rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        Validate(inputDim, outputDim, 1, count, 0.0);
        return new DenseMeasurements(count, outputDim, inputDim, rng.Draw(checked(count * outputDim * inputDim)));
    }

    /// <summary>
    /// n completion measurements A_i = s e_{a_i} e_{b_i}^T at uniformly drawn cells. Without replacement where
    /// possible: when n exceeds the d_L d_0 cells, every cell is observed floor(n / (d_L d_0)) times and the remaining
    /// cells are drawn without replacement. Cells are listed in the order drawn (Floyd's algorithm).
    /// </summary>
    internal static CompletionMeasurements CompletionMeasurements(int count, int outputDim, int inputDim, NormalSampler rng,
        double? scale = null)
    {
        ArgumentNullException.ThrowIfNull(rng);
        Validate(inputDim, outputDim, 1, count, 0.0);
        double s = scale ?? Math.Sqrt((double)inputDim * outputDim);
        if (!double.IsFinite(s) || s <= 0)
            throw new ArgumentOutOfRangeException(nameof(scale), $"completion scale must be finite and positive, got {s}");
        long cells = (long)inputDim * outputDim;
        var rows = new int[count];
        var cols = new int[count];
        int next = 0;
        for (long repeat = 0; repeat < count / cells; repeat++)
            for (long cell = 0; cell < cells; cell++, next++)
            {
                rows[next] = (int)(cell / inputDim);
                cols[next] = (int)(cell % inputDim);
            }
        foreach (long cell in DistinctCells(cells, (int)(count - next), rng))
        {
            rows[next] = (int)(cell / inputDim);
            cols[next] = (int)(cell % inputDim);
            next++;
        }
        return new CompletionMeasurements(outputDim, inputDim, rows, cols, s);
    }

    /// <summary>n rank-one measurements A_i = u_i v_i^T, all u_i (n x d_L) drawn first, then all v_i (n x d_0).</summary>
    internal static RankOneMeasurements RankOneMeasurements(int count, int outputDim, int inputDim, NormalSampler rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        Validate(inputDim, outputDim, 1, count, 0.0);
        var u = rng.Draw(checked(count * outputDim));
        var v = rng.Draw(checked(count * inputDim));
        return new RankOneMeasurements(count, outputDim, inputDim, u, v);
    }

    /// <summary>
    /// The scaled full basis: measurement i = a d_0 + b is sqrt(d_0 d_L) e_a e_b^T, so (1/n) sum_i &lt;A_i, M&gt;^2 =
    /// ||M||_F^2 exactly (RIP constant 0).
    /// </summary>
    public static Measurements BasisMeasurements(int outputDim, int inputDim, bool asCompletion)
    {
        Validate(inputDim, outputDim, 1, 1, 0.0);
        int n = checked(outputDim * inputDim);
        double s = Math.Sqrt((double)n);
        if (asCompletion)
        {
            var rows = new int[n];
            var cols = new int[n];
            for (int i = 0; i < n; i++) { rows[i] = i / inputDim; cols[i] = i % inputDim; }
            return new CompletionMeasurements(outputDim, inputDim, rows, cols, s);
        }
        var a = new double[checked(n * n)];
        for (int i = 0; i < n; i++) a[(long)i * n + i] = s;
        return new DenseMeasurements(n, outputDim, inputDim, a);
    }

    /// <summary>b = A(M*) + sigma xi (xi drawn from <paramref name="rng"/> only when sigma &gt; 0).</summary>
    internal static SensingProblem Label(Measurements measurements, Matrix<double> groundTruth, double noise, NormalSampler rng)
    {
        ArgumentNullException.ThrowIfNull(measurements);
        ArgumentNullException.ThrowIfNull(groundTruth);
        ArgumentNullException.ThrowIfNull(rng);
        if (!double.IsFinite(noise) || noise < 0)
            throw new ArgumentOutOfRangeException(nameof(noise), $"label noise sigma must be finite and >= 0, got {noise}");
        var labels = new double[measurements.Count];
        measurements.Forward(groundTruth, labels);
        if (noise > 0)
            for (int i = 0; i < labels.Length; i++) labels[i] += noise * rng.Next();
        return new SensingProblem(measurements, labels, groundTruth);
    }

    /// <summary>k distinct values of [0, cells), uniformly, by Floyd's algorithm (O(k) time and memory).</summary>
    private static IEnumerable<long> DistinctCells(long cells, int k, NormalSampler rng)
    {
        var chosen = new HashSet<long>();
        var order = new List<long>(k);
        for (long j = cells - k; j < cells; j++)
        {
            long t = rng.NextLong(j + 1);
            long pick = chosen.Contains(t) ? j : t;
            chosen.Add(pick);
            order.Add(pick);
        }
        return order;
    }

    /// <summary>
    /// Refuses, before anything is drawn, a problem whose arrays would not fit one .NET array or half of the memory this
    /// process may use: M* (d_L x d_0) and the measurements (n d_L d_0 values when dense, n (d_L + d_0) rank-one).
    /// </summary>
    private static void RequireFits(ProblemSpec spec)
    {
        double cells = (double)spec.OutputDim * spec.InputDim;
        double values = spec.Kind switch
        {
            ProblemKind.Gaussian => spec.Count * cells,
            ProblemKind.RankOne => (double)spec.Count * (spec.OutputDim + spec.InputDim),
            ProblemKind.Basis => cells * cells,
            _ => 3.0 * spec.Count,
        };
        // The largest single array: M*, the stacked dense A_i, or (structured) one index or vector array.
        double largest = Math.Max(cells, spec.Kind is ProblemKind.Gaussian or ProblemKind.Basis ? values : spec.Count * (double)Math.Max(spec.OutputDim, 1));
        double bytes = (cells + values) * sizeof(double);
        double available = 0.5 * GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        string kind = spec.Kind switch { ProblemKind.RankOne => "rank-one", ProblemKind.BasisCompletion => "basis completion", var k => k.ToString().ToLowerInvariant() };
        string what = $"a {kind} problem with d_L x d_0 = {spec.OutputDim} x {spec.InputDim} and n = {spec.Count}";
        if (largest > Array.MaxLength)
            throw new ProblemTooLargeException($"{what} needs an array of {largest:G3} values; one array holds at most {Array.MaxLength:G3}");
        if (bytes > available)
            throw new ProblemTooLargeException($"{what} needs {bytes / 1e9:G3} GB; this process may use about {available / 1e9:G3} GB (half of what is available)");
    }

    private static void Validate(int inputDim, int outputDim, int rank, int count, double noise)
    {
        if (inputDim < 1)
            throw new ArgumentOutOfRangeException(nameof(inputDim), $"d_0 must be >= 1, got {inputDim}");
        if (outputDim < 1)
            throw new ArgumentOutOfRangeException(nameof(outputDim), $"d_L must be >= 1, got {outputDim}");
        if (rank < 1 || rank > Math.Min(inputDim, outputDim))
            throw new ArgumentOutOfRangeException(nameof(rank),
                $"rank must lie in [1, min(d_0, d_L)] = [1, {Math.Min(inputDim, outputDim)}], got {rank}");
        if (count < 1)
            throw new ArgumentOutOfRangeException(nameof(count), $"the number of measurements n must be >= 1, got {count}");
        if (!double.IsFinite(noise) || noise < 0)
            throw new ArgumentOutOfRangeException(nameof(noise), $"label noise sigma must be finite and >= 0, got {noise}");
    }
}
