using System.Numerics;

namespace Flatness.Solver.Randomness;

/// <summary>
/// Knuth's subtractive generator (TAOCP vol. 2, 3.6; the <c>ran3</c> of Numerical Recipes) with the seeding and the
/// 21-apart lag that <c>new System.Random(seed)</c> has used since .NET Framework 1.0: the same seed gives the same
/// doubles, bounded integers and 64-bit integers as System.Random, draw for draw. Unlike System.Random its state can be
/// saved and restored (<see cref="SaveState"/>, <see cref="FromState"/>), which is what lets a checkpointed run resume
/// on exactly the sample path it was on.
/// </summary>
internal sealed class SubtractiveGenerator
{
    private const int Modulus = int.MaxValue;
    private const int TableLength = 56; // entries 1..55 are used (Knuth's indexing)

    private readonly int[] _table;
    private int _next;
    private int _nextLagged;

    public SubtractiveGenerator(int seed)
    {
        _table = new int[TableLength];
        int magnitude = seed == int.MinValue ? int.MaxValue : Math.Abs(seed);
        int current = 161803398 - magnitude; // Knuth's MSEED, from the golden ratio
        _table[55] = current;
        int previous = 1;
        int slot = 0;
        for (int i = 1; i < 55; i++)
        {
            slot = (slot + 21) % 55;
            _table[slot] = previous;
            previous = current - previous;
            if (previous < 0) previous += Modulus;
            current = _table[slot];
        }
        for (int round = 0; round < 4; round++)
        {
            for (int i = 1; i < TableLength; i++)
            {
                _table[i] -= _table[1 + (i + 30) % 55];
                if (_table[i] < 0) _table[i] += Modulus;
            }
        }
        _next = 0;
        _nextLagged = 21;
    }

    private SubtractiveGenerator(int[] table, int next, int nextLagged)
    {
        _table = table;
        _next = next;
        _nextLagged = nextLagged;
    }

    /// <summary>The next raw value in [0, int.MaxValue).</summary>
    public int NextRaw()
    {
        _next = _next + 1 >= TableLength ? 1 : _next + 1;
        _nextLagged = _nextLagged + 1 >= TableLength ? 1 : _nextLagged + 1;
        int value = _table[_next] - _table[_nextLagged];
        if (value == Modulus) value--;
        if (value < 0) value += Modulus;
        _table[_next] = value;
        return value;
    }

    /// <summary>A double in [0, 1): <c>Random.NextDouble</c>.</summary>
    public double NextDouble() => NextRaw() * (1.0 / Modulus);

    /// <summary>An integer in [0, maxExclusive): <c>Random.Next(int)</c> (the caller checks the bound).</summary>
    public int Next(int maxExclusive) => (int)(NextDouble() * maxExclusive);

    /// <summary>
    /// An integer in [0, maxExclusive): <c>Random.NextInt64(long)</c> of .NET 8 and later, by rejection on the top bits
    /// of a 64-bit word made of three bounded draws (22, 22 and 20 bits).
    /// </summary>
    public long NextInt64(long maxExclusive)
    {
        ulong range = (ulong)maxExclusive;
        if (range <= 1) return 0;
        int bits = 64 - BitOperations.LeadingZeroCount(range - 1); // ceil(log2(range))
        while (true)
        {
            ulong word = (uint)Next(1 << 22) | (ulong)(uint)Next(1 << 22) << 22 | (ulong)(uint)Next(1 << 20) << 44;
            ulong candidate = word >> (64 - bits);
            if (candidate < range) return (long)candidate;
        }
    }

    /// <summary>The whole state: the 56 table entries and the two indices.</summary>
    public long[] SaveState()
    {
        var state = new long[TableLength + 2];
        for (int i = 0; i < TableLength; i++) state[i] = _table[i];
        state[TableLength] = _next;
        state[TableLength + 1] = _nextLagged;
        return state;
    }

    /// <summary>A generator that continues from <paramref name="state"/> (from <see cref="SaveState"/>).</summary>
    /// <exception cref="ArgumentException">the state has the wrong length or an entry out of range.</exception>
    public static SubtractiveGenerator FromState(ReadOnlySpan<long> state)
    {
        if (state.Length != TableLength + 2)
            throw new ArgumentException($"a generator state has {TableLength + 2} entries, got {state.Length}", nameof(state));
        var table = new int[TableLength];
        for (int i = 0; i < TableLength; i++)
        {
            if (state[i] < 0 || state[i] >= Modulus)
                throw new ArgumentException($"generator state entry {i} = {state[i]} is outside [0, {Modulus})", nameof(state));
            table[i] = (int)state[i];
        }
        long next = state[TableLength], lagged = state[TableLength + 1];
        if (next < 0 || next >= TableLength || lagged < 0 || lagged >= TableLength)
            throw new ArgumentException($"generator state indices {next}, {lagged} are outside [0, {TableLength})", nameof(state));
        return new SubtractiveGenerator(table, (int)next, (int)lagged);
    }
}
