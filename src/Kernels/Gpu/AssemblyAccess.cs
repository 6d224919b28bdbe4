// The ILGPU CPU accelerator emits a dynamic assembly named ILGPURuntime that instantiates the (internal) kernel
// argument structures; it needs to see them.
[assembly: System.Runtime.CompilerServices.InternalsVisibleTo("ILGPURuntime")]
