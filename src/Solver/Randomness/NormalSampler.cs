namespace Flatness.Solver.Randomness;

/// <summary>
/// The project's one source of seeded randomness. Uniform draws come from <c>System.Random(seed)</c>, whose seeded
/// sequence (the subtractive generator kept for compatibility) is fixed across .NET versions and platforms; standard
/// normal draws use the Box–Muller transform on pairs of uniforms and return both values of each pair, in order.
/// The same seed therefore always gives the same problem, initialisation and sample path.
/// </summary>
public sealed class NormalSampler
{
    private readonly Random _uniform;
    private double _spare;
    private bool _hasSpare;

    /// <summary>A sampler whose draws are fixed by <paramref name="seed"/>.</summary>
    public NormalSampler(int seed)
    {
        Seed = seed;
        _uniform = new Random(seed);
    }

    /// <summary>The seed it was made with.</summary>
    public int Seed { get; }

    /// <summary>A uniform draw in [0, 1).</summary>
    public double NextUniform() => _uniform.NextDouble();

    /// <summary>A uniform integer in [0, maxExclusive).</summary>
    public int NextInt(int maxExclusive)
    {
        if (maxExclusive <= 0)
            throw new ArgumentOutOfRangeException(nameof(maxExclusive), $"the range [0, {maxExclusive}) is empty");
        return _uniform.Next(maxExclusive);
    }

    /// <summary>A uniform 64-bit integer in [0, maxExclusive).</summary>
    public long NextLong(long maxExclusive)
    {
        if (maxExclusive <= 0)
            throw new ArgumentOutOfRangeException(nameof(maxExclusive), $"the range [0, {maxExclusive}) is empty");
        return _uniform.NextInt64(maxExclusive);
    }

    /// <summary>A standard normal draw N(0, 1).</summary>
    public double Next()
    {
        if (_hasSpare)
        {
            _hasSpare = false;
            return _spare;
        }
        double u1 = 1.0 - _uniform.NextDouble(); // (0, 1]: the logarithm stays finite
        double u2 = _uniform.NextDouble();
        double radius = Math.Sqrt(-2.0 * Math.Log(u1));
        double angle = 2.0 * Math.PI * u2;
        _spare = radius * Math.Sin(angle);
        _hasSpare = true;
        return radius * Math.Cos(angle);
    }

    /// <summary>Fills <paramref name="target"/> with independent N(0, scale^2) draws.</summary>
    public void Fill(Span<double> target, double scale = 1.0)
    {
        for (int t = 0; t < target.Length; t++) target[t] = scale * Next();
    }

    /// <summary>A new array of <paramref name="count"/> independent N(0, scale^2) draws.</summary>
    public double[] Draw(int count, double scale = 1.0)
    {
        var values = new double[count];
        Fill(values, scale);
        return values;
    }
}
