namespace Flatness.Solver.Randomness;

/// <summary>
/// The project's one source of seeded randomness. Uniform draws come from the subtractive generator of
/// <c>System.Random(seed)</c> (the same sequence as on .NET 8 and later, on every platform, but with a state that
/// can be saved for checkpoints; it no longer depends on the runtime's version); standard normal draws use the Box–Muller transform on pairs of uniforms and return both
/// values of each pair, in order. The same seed therefore always gives the same problem, initialisation and sample path.
/// </summary>
internal sealed class NormalSampler
{
    private readonly SubtractiveGenerator _uniform;
    private double _spare;
    private bool _hasSpare;

    /// <summary>A sampler whose draws are fixed by <paramref name="seed"/>.</summary>
    public NormalSampler(int seed)
    {
        Seed = seed;
        _uniform = new SubtractiveGenerator(seed);
    }

    private NormalSampler(int seed, SubtractiveGenerator uniform, bool hasSpare, double spare)
    {
        Seed = seed;
        _uniform = uniform;
        _hasSpare = hasSpare;
        _spare = spare;
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

    /// <summary>The whole state (seed, the pending Box–Muller value, the generator), for <see cref="FromState"/>.</summary>
    internal long[] SaveState() =>
        [Seed, _hasSpare ? 1 : 0, BitConverter.DoubleToInt64Bits(_spare), .. _uniform.SaveState()];

    /// <summary>A sampler that continues exactly where the one that saved <paramref name="state"/> was.</summary>
    /// <exception cref="ArgumentException">the state is not one <see cref="SaveState"/> wrote.</exception>
    internal static NormalSampler FromState(ReadOnlySpan<long> state)
    {
        if (state.Length < 3 || state[0] is < int.MinValue or > int.MaxValue || state[1] is not (0 or 1))
            throw new ArgumentException("not a sampler state", nameof(state));
        return new NormalSampler((int)state[0], SubtractiveGenerator.FromState(state[3..]), state[1] == 1,
            BitConverter.Int64BitsToDouble(state[2]));
    }
}
