using Flatness.Kernels.Gpu;
using Flatness.Solver.Backends;

namespace Flatness.Tests;

/// <summary>
/// One accelerator for all GPU tests: the ILGPU CPU accelerator by default, or the kind named by the environment
/// variable FLATNESS_TEST_ACCELERATOR (cuda, opencl, cpu, auto) so the same tests run on a real GPU.
/// </summary>
public sealed class GpuFixture
{
    public GpuFixture()
    {
        var requested = Environment.GetEnvironmentVariable("FLATNESS_TEST_ACCELERATOR");
        Kind = string.IsNullOrWhiteSpace(requested) ? GpuKind.Cpu
            : GpuBackend.KindOf(ChoiceNames.ParseBackend(requested.Trim() switch { "auto" => "ilgpu", var r when r.StartsWith("ilgpu") => r, var r => "ilgpu-" + r }));
        Context = GpuContext.Shared(Kind);
    }

    public GpuKind Kind { get; }
    public GpuContext Context { get; }
}

[CollectionDefinition("gpu")]
public sealed class GpuCollection : ICollectionFixture<GpuFixture>;
