using System.Numerics;
using System.Reflection;
using ILGPU;
using ILGPU.Backends;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace Flatness.Kernels.Gpu;

/// <summary>
/// Compiles every kernel to PTX for a CUDA architecture without a GPU (ILGPU's PTX backend needs no driver), so a
/// machine without CUDA can still check that the kernels translate and inspect the code (register tiles must not
/// spill to local memory).
/// </summary>
internal static class PtxProbe
{
    /// <summary>Kernel name -> PTX assembly, for element type <typeparamref name="T"/> on sm_90 (Hopper).</summary>
    public static IReadOnlyDictionary<string, string> Compile<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        using var context = Context.Create(builder => builder.Optimize(OptimizationLevel.O2));
        using var backend = new PTXBackend(context, new CudaCapabilityContext(CudaArchitecture.SM_90), CudaArchitecture.SM_90,
            CudaInstructionSet.ISA_80, nvvmAPI: null);
        var result = new Dictionary<string, string>();
        foreach (var (method, explicitGroups) in Kernels<T>())
        {
            var entry = explicitGroups
                ? EntryPointDescription.FromExplicitlyGroupedKernel(method)
                : EntryPointDescription.FromImplicitlyGroupedKernel(method);
            var compiled = (PTXCompiledKernel)backend.Compile(entry, KernelSpecialization.Empty);
            result[method.Name] = compiled.PTXAssembly;
        }
        return result;
    }

    private static IEnumerable<(MethodInfo Method, bool ExplicitGroups)> Kernels<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        yield return (typeof(GemmKernel<T>).GetMethod(nameof(GemmKernel<T>.Tiled))!, true);
        yield return (typeof(GemmKernel<T>).GetMethod(nameof(GemmKernel<T>.ReduceSplits))!, false);
        foreach (var m in typeof(VectorKernels<T>).GetMethods(BindingFlags.Public | BindingFlags.Static))
            yield return (m, m.Name == nameof(VectorKernels<T>.DotStage));
    }
}
