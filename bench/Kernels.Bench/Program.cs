using BenchmarkDotNet.Running;
using Flatness.Bench;

if (args.Length > 0 && args[0] == "gemm-table")
    return GemmTable.Run(args[1..]);
if (args.Length > 0 && args[0] == "gram-build-table")
    return GramBuildTable.Run(args[1..]);
if (args.Length > 0 && args[0] == "gram-table")
    return GramTable.Run(args[1..]);
if (args.Length > 0 && args[0] == "operator-table")
    return OperatorTable.Run(args[1..]);

BenchmarkSwitcher.FromAssembly(typeof(GemmTable).Assembly).Run(args);
return 0;
