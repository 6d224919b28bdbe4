using Flatness.Solver.Optimizers;

namespace Flatness.Tests;

public class LbfgsTests
{
    [Fact]
    public void IllConditionedQuadraticIsSolved()
    {
        // f = 1/2 (x - x*)^T A (x - x*) with A = Q diag(1..1000) Q^T (condition number 1000), minimum 0 at x*.
        int n = 30;
        var rng = new Random(3);
        var q = new double[n, n];
        for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) q[i, j] = rng.NextDouble() - 0.5;
        // Orthonormalise the columns of q (Gram-Schmidt).
        for (int c = 0; c < n; c++)
        {
            for (int p = 0; p < c; p++)
            {
                double dot = 0; for (int r = 0; r < n; r++) dot += q[r, p] * q[r, c];
                for (int r = 0; r < n; r++) q[r, c] -= dot * q[r, p];
            }
            double norm = 0; for (int r = 0; r < n; r++) norm += q[r, c] * q[r, c];
            for (int r = 0; r < n; r++) q[r, c] /= Math.Sqrt(norm);
        }
        var eig = Enumerable.Range(0, n).Select(i => Math.Pow(1000, i / (n - 1.0))).ToArray();
        var a = new double[n, n];
        for (int i = 0; i < n; i++) for (int j = 0; j < n; j++)
            for (int k = 0; k < n; k++) a[i, j] += q[i, k] * eig[k] * q[j, k];
        var xStar = Enumerable.Range(0, n).Select(i => Math.Sin(i + 1.0)).ToArray();

        double F(ReadOnlySpan<double> x, Span<double> g)
        {
            double f = 0;
            for (int i = 0; i < n; i++)
            {
                double ax = 0;
                for (int j = 0; j < n; j++) ax += a[i, j] * (x[j] - xStar[j]);
                g[i] = ax;
                f += 0.5 * (x[i] - xStar[i]) * ax;
            }
            return f;
        }

        var result = Lbfgs.Minimize(F, new double[n], new LbfgsOptions { GradientTolerance = 1e-10, MaxIterations = 1000 });
        Assert.Equal(LbfgsStatus.GradientTolerance, result.Status);
        double err = Math.Sqrt(result.X.Zip(xStar).Sum(p => (p.First - p.Second) * (p.First - p.Second)));
        Assert.True(err < 1e-10, $"error {err}"); // ||x - x*|| <= ||g|| / lambda_min
        Assert.InRange(result.Iterations, 1, 400);

        // With memory >= n and near-exact line searches L-BFGS is conjugate gradients: n iterations suffice.
        var exact = Lbfgs.Minimize(F, new double[n], new LbfgsOptions { GradientTolerance = 1e-10, Memory = n, C1 = 1e-5, C2 = 0.01 });
        Assert.Equal(LbfgsStatus.GradientTolerance, exact.Status);
        Assert.InRange(exact.Iterations, n - 2, n + 2);
    }

    private static double Rosenbrock(ReadOnlySpan<double> x, Span<double> g)
    {
        double f = 0;
        g.Clear();
        for (int i = 0; i + 1 < x.Length; i++)
        {
            double a = x[i + 1] - x[i] * x[i], b = 1 - x[i];
            f += 100 * a * a + b * b;
            g[i] += -400 * a * x[i] - 2 * b;
            g[i + 1] += 200 * a;
        }
        return f;
    }

    [Theory]
    [InlineData(2)]
    [InlineData(10)]
    public void RosenbrockReachesTheMinimum(int n)
    {
        var start = Enumerable.Range(0, n).Select(i => i % 2 == 0 ? -1.2 : 1.0).ToArray();
        var result = Lbfgs.Minimize(Rosenbrock, start, new LbfgsOptions { GradientTolerance = 1e-10, MaxIterations = 500 });
        Assert.Equal(LbfgsStatus.GradientTolerance, result.Status);
        foreach (double v in result.X) Assert.Equal(1.0, v, 8);
        Assert.True(result.Value < 1e-18, $"f = {result.Value}");
        Assert.True(result.Iterations < 150, $"{result.Iterations} iterations");
    }

    [Fact]
    public void EveryAcceptedStepDecreasesTheValueAndIsReported()
    {
        var values = new List<double>();
        var result = Lbfgs.Minimize(Rosenbrock, [-1.2, 1.0], new LbfgsOptions
        {
            GradientTolerance = 1e-8,
            OnIteration = it => values.Add(it.Value),
        });
        Assert.Equal(result.Iterations, values.Count);
        for (int k = 1; k < values.Count; k++) Assert.True(values[k] < values[k - 1]);
        Assert.Equal(result.Value, values[^1]);
    }

    [Fact]
    public void NonFiniteTrialPointsShrinkTheStep()
    {
        // f = 100 x - log x is NaN for x <= 0; the first trial step from 0.5 lands at -0.5.
        static double F(ReadOnlySpan<double> x, Span<double> g)
        {
            g[0] = 100 - 1 / x[0];
            return x[0] > 0 ? 100 * x[0] - Math.Log(x[0]) : double.NaN;
        }
        var result = Lbfgs.Minimize(F, [0.5], new LbfgsOptions { GradientTolerance = 1e-10 });
        Assert.True(result.NonFiniteTrials >= 1);
        Assert.Equal(0.01, result.X[0], 10);
        Assert.Equal(LbfgsStatus.GradientTolerance, result.Status);
    }

    [Fact]
    public void StopsWhenAskedAndAtTheIterationLimit()
    {
        var stopped = Lbfgs.Minimize(Rosenbrock, [-1.2, 1.0], new LbfgsOptions { ShouldStop = () => true });
        Assert.Equal(LbfgsStatus.Stopped, stopped.Status);
        Assert.Equal(0, stopped.Iterations);
        var limited = Lbfgs.Minimize(Rosenbrock, [-1.2, 1.0], new LbfgsOptions { MaxIterations = 3 });
        Assert.Equal(LbfgsStatus.MaxIterations, limited.Status);
        Assert.Equal(3, limited.Iterations);
    }

    [Fact]
    public void BadStartAndOptionsAreRejected()
    {
        Assert.Throws<ArgumentException>(() => Lbfgs.Minimize((x, g) => double.NaN, [0.0]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Lbfgs.Minimize(Rosenbrock, [0.0, 0.0], new LbfgsOptions { Memory = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => Lbfgs.Minimize(Rosenbrock, [0.0, 0.0], new LbfgsOptions { C1 = 0.95 }));
    }
}
