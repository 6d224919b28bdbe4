// Validating against NumPy files: load a problem and layers written by numpy.savez (examples/make_example.py writes the
// shipped pair), then evaluate loss, exact trace, per-layer traces, both gradients and lambda_max.
using Flatness.Solver.Backends;
using Flatness.Solver.Curvature;
using Flatness.Solver.Problems;

string directory = args.Length > 0 ? args[0] : Path.Combine(AppContext.BaseDirectory, "gaussian-small");
var problem = ProblemFiles.LoadProblem(Path.Combine(directory, "problem.npz"));
var layers = ProblemFiles.LoadLayers(Path.Combine(directory, "layers.npz"), problem);
using var evaluator = Evaluators.Create(problem, layers.Dims, new EvaluatorOptions { Backend = BackendKind.Cpu });
var evaluation = evaluator.Evaluate(layers.Layers, Quantities.All);
Console.WriteLine($"{problem.Measurements.Kind.Name()} measurements, n = {problem.Count}, dims [{string.Join(", ", layers.Dims)}]");
Console.WriteLine($"loss {evaluation.Loss:G10}, tr H {evaluation.Trace:G10} (layers: {string.Join(", ", evaluation.LayerTraces!.Select(t => t.ToString("G6")))})");
Console.WriteLine($"|dL/dW| {Norm(evaluation.LossGradient!):G6}, |d tr H/dW| {Norm(evaluation.TraceGradient!):G6}");
var top = Lanczos.Extremes(new HessianOperator(evaluator, layers.Layers), count: 1);
Console.WriteLine($"lambda_max {top.LambdaMax:G10}, lambda_min {top.LambdaMin:G10} ({top.Matvecs} exact Hessian-vector products)");
return 0;

static double Norm(IEnumerable<Flatness.Kernels.Tensors.Matrix<double>> g) => Math.Sqrt(g.Sum(m => m.Data.Sum(x => x * x)));
