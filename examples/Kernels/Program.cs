// The CPU kernels on your own spans: a row-major GEMM and the S sandwich of dense measurements, each checked
// against a plain loop.
using Flatness.Kernels.Cpu;

var rng = new Random(1);
int m = 64, n = 48, k = 80;
double[] a = Random(m * k), b = Random(k * n), c = new double[m * n];
Gemm.Compute(Op.None, Op.None, m, n, k, 1.0, a, k, b, n, 0.0, c, n);
double worst = 0;
for (int i = 0; i < m; i++)
    for (int j = 0; j < n; j++)
    {
        double sum = 0;
        for (int t = 0; t < k; t++) sum += a[i * k + t] * b[t * n + j];
        worst = Math.Max(worst, Math.Abs(sum - c[i * n + j]));
    }
Console.WriteLine($"GEMM {m}x{k} by {k}x{n} on {Gemm.Isa}: largest difference from a triple loop {worst:E1}");

// S(F^T F) = (1/n) sum_i (A_i F^T)(A_i F^T)^T for n measurements A_i (dL x d0) and a factor F (r x d0).
int count = 30, dL = 5, d0 = 4, r = 3;
double[] measurements = Random(count * dL * d0), factor = Random(r * d0), s = new double[dL * dL];
var layout = SideLayout.ForChunkBytes(count, dL, d0, targetChunkBytes: 1 << 20, elementBytes: sizeof(double));
var side = new double[layout.Length];
layout.Pack<double, double>(measurements, side);
DenseSandwich.SOfGram<double>(layout, side, r, factor, s, new double[DenseSandwich.WorkspaceLength(layout, r)]);
double worstS = 0;
for (int p = 0; p < dL; p++)
    for (int q = 0; q < dL; q++)
    {
        double sum = 0;
        for (int i = 0; i < count; i++)
            for (int t = 0; t < r; t++)
            {
                double x = 0, y = 0;
                for (int e = 0; e < d0; e++)
                {
                    x += measurements[(i * dL + p) * d0 + e] * factor[t * d0 + e];
                    y += measurements[(i * dL + q) * d0 + e] * factor[t * d0 + e];
                }
                sum += x * y;
            }
        worstS = Math.Max(worstS, Math.Abs(sum / count - s[p * dL + q]));
    }
Console.WriteLine($"S(F^T F) for {count} measurements of {dL}x{d0}: largest difference from the definition {worstS:E1}");
return worst < 1e-12 && worstS < 1e-12 ? 0 : 1;

double[] Random(int length) => Enumerable.Range(0, length).Select(_ => 2 * rng.NextDouble() - 1).ToArray();
