using Flatness.Kernels.Tensors;

namespace Flatness.Tests;

/// <summary>||E - M*||_F^2 / ||M*||_F^2, written out for the tests.</summary>
internal static class Rel
{
    public static double Error(Matrix<double> e, Matrix<double>? truth)
    {
        double num = 0, den = 0;
        for (int t = 0; t < e.Length; t++)
        {
            num += (e.Data[t] - truth!.Data[t]) * (e.Data[t] - truth.Data[t]);
            den += truth.Data[t] * truth.Data[t];
        }
        return num / den;
    }
}
