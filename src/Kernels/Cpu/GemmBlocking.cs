namespace Flatness.Kernels.Cpu;

/// <summary>
/// Cache and register blocking of the packed GEMM, as data (one record per precision and vector width).
/// The micro-kernel computes an <see cref="MR"/> x <see cref="NR"/> tile of C from a packed MR x KC sliver of A
/// (kept in L1 with a KC x NR sliver of B), a packed MC x KC block of A lives in L2 and a KC x NC panel of B in L3.
/// </summary>
/// <param name="MR">rows of the register tile (fixed by the micro-kernel: 6).</param>
/// <param name="NR">columns of the register tile (fixed by the micro-kernel: two vectors).</param>
/// <param name="KC">depth of a packed block (shared dimension).</param>
/// <param name="MC">rows of a packed block of A; a multiple of MR.</param>
/// <param name="NC">columns of a packed panel of B; a multiple of NR.</param>
/// <param name="DirectMaxWork">m*n*k at or below which (with k &lt;= KC) A is read in place rather than packed
/// (the small-product path; B slivers are still copied, one at a time).</param>
/// <param name="ParallelMinWork">m*n*k from which the work is split over threads.</param>
public sealed record GemmBlocking(
    int MR, int NR, int KC, int MC, int NC,
    long DirectMaxWork, long ParallelMinWork)
{
    /// <summary>The micro-kernel's tile height; every blocking uses it.</summary>
    public const int KernelRows = 6;

    /// <summary>
    /// Defaults for the given precision and vector width. The KC x NR sliver of B takes half of a 32 KiB L1
    /// (KC = 256 with AVX2), the MC x KC block of A a quarter to a half of L2, the KC x NC panel of B a few MiB of L3.
    /// AVX2 values measured on AMD Zen 3 (2 cores, 512 KiB L2 each) against OpenBLAS.
    /// </summary>
    public static GemmBlocking Default<T>(GemmIsa isa) where T : unmanaged
    {
        int size = System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        int lanes = isa switch { GemmIsa.Vector512 => 64, GemmIsa.Vector256 => 32, _ => 16 } / size;
        int nr = 2 * lanes;
        int kc = Math.Clamp(16 * 1024 / (nr * size), 128, 512);
        int mc = isa == GemmIsa.Vector512 ? 288 : 144;
        int nc = 4096 / nr * nr;
        return new GemmBlocking(KernelRows, nr, kc, mc, nc,
            DirectMaxWork: 192L * 192 * 192,
            ParallelMinWork: 64L * 64 * 64 + 1);
    }

    /// <summary>Throws when the blocking cannot drive the micro-kernel compiled for <paramref name="nr"/> columns.</summary>
    internal void Validate(int nr)
    {
        if (MR != KernelRows)
            throw new ArgumentException($"GemmBlocking.MR must be {KernelRows} (the micro-kernel's tile height), got {MR}");
        if (NR != nr)
            throw new ArgumentException($"GemmBlocking.NR must be {nr} (two vectors), got {NR}");
        if (KC <= 0)
            throw new ArgumentException($"GemmBlocking.KC must be positive, got {KC}");
        if (MC <= 0 || MC % MR != 0)
            throw new ArgumentException($"GemmBlocking.MC must be a positive multiple of MR = {MR}, got {MC}");
        if (NC <= 0 || NC % NR != 0)
            throw new ArgumentException($"GemmBlocking.NC must be a positive multiple of NR = {NR}, got {NC}");
        if (DirectMaxWork < 0 || ParallelMinWork < 0)
            throw new ArgumentException("GemmBlocking thresholds must be non-negative");
    }
}
