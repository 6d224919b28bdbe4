using System.Text.RegularExpressions;
using Flatness.Kernels.Gpu;

namespace Flatness.Tests;

/// <summary>
/// Every kernel translates to PTX for sm_90 without a GPU; the GEMM's 8x8 register tile stays in registers, and its
/// products and sums are plain (no explicit rounding mode), so the PTX assembler may fuse them into FMAs.
/// </summary>
public sealed class GpuPtxTests
{
    private static void Check(IReadOnlyDictionary<string, string> ptx, string type)
    {
        Assert.Contains("Tiled", ptx.Keys);
        Assert.True(ptx.Count >= 12, $"only {ptx.Count} kernels compiled");
        var gemm = ptx["Tiled"];
        Assert.DoesNotContain(".local", gemm);                      // no spilled or indexed per-thread arrays
        Assert.True(Regex.Matches(gemm, $@"\bmul\.{type}\b").Count >= 64, $"the GEMM inner loop should hold 64 mul.{type} per k step");
        Assert.DoesNotContain($"mul.rn.{type}", gemm);
        Assert.Contains("bar.sync", gemm);
        Assert.Contains(".shared", gemm);
    }

    [Fact]
    public void Float32KernelsCompileForSm90() => Check(PtxProbe.Compile<float>(), "f32");

    [Fact]
    public void Float64KernelsCompileForSm90() => Check(PtxProbe.Compile<double>(), "f64");
}
