// Embedding the solver: generate a Gaussian sensing problem, let the selector choose the evaluator, run penalty
// continuation to the flattest interpolant (min tr H subject to zero loss), and report tr H, the idealised flatness G
// against its closed-form minimum F(E) over factorisations, and the recovery of M*.
using Flatness.Kernels.Cpu;
using Flatness.Solver.Backends;
using Flatness.Solver.Model;
using Flatness.Solver.Optimizers;
using Flatness.Solver.Problems;
using Flatness.Solver.Theory;

var problem = Generators.Gaussian(inputDim: 10, outputDim: 10, rank: 2, count: 120, seed: 1);
int[] dims = Initializers.Dims(problem.InputDim, problem.OutputDim, depth: 3);
var choice = EvaluatorSelector.Choose(problem, dims, new EvaluatorOptions { Backend = BackendKind.Auto });
Console.WriteLine($"evaluator: {choice.Backend.Name()} / {choice.Path.Name()} / {choice.Precision.Name()}");
using var evaluator = Evaluators.Create(problem, dims, choice, warn: Console.Error.WriteLine);

var run = new PenaltyContinuation(new PenaltyOptions { MaxSteps = 3000, HistoryEvery = 0 })
    .Run(evaluator, Initializers.Gaussian(dims, scale: 1.0, seed: 2));
var e = Gemm.Multiply(run.Layers.Layers[2], Gemm.Multiply(run.Layers.Layers[1], run.Layers.Layers[0]));
var at = evaluator.Evaluate(run.Layers.Layers, Quantities.Values);
double f = FlatnessTheory.F(e, depth: 3), g = FlatnessTheory.G(run.Layers.Layers);
double error = 0, norm = 0;
for (int t = 0; t < e.Data.Length; t++)
{
    error += (e.Data[t] - problem.GroundTruth!.Data[t]) * (e.Data[t] - problem.GroundTruth.Data[t]);
    norm += problem.GroundTruth.Data[t] * problem.GroundTruth.Data[t];
}
Console.WriteLine($"loss {at.Loss:E2}, tr H {at.Trace:F6}, tr H / 2G {at.Trace / (2 * g):F4}, G / F(E) {g / f:F6}");
Console.WriteLine($"relative error ||E - M*||_F / ||M*||_F = {Math.Sqrt(error / norm):E2}");
return Math.Sqrt(error / norm) < 1e-3 ? 0 : 1;
