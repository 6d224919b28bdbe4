// The ILGPU CPU accelerator emits a dynamic assembly named ILGPURuntime that instantiates the (internal) kernel
// argument structures; it needs to see them.
[assembly: System.Runtime.CompilerServices.InternalsVisibleTo("ILGPURuntime")]
// The GPU tests live with the evaluator tests and check the kernel geometry knobs.
[assembly: System.Runtime.CompilerServices.InternalsVisibleTo("Solver.Tests")]
