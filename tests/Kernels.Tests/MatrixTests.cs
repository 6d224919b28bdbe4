using Flatness.Kernels.Cpu;
using Flatness.Kernels.Tensors;

namespace Flatness.Tests;

public class MatrixTests
{
    [Fact]
    public void TransposeSwapsIndices()
    {
        var m = Matrix<double>.FromRows(new double[,] { { 1, 2, 3 }, { 4, 5, 6 } });
        var t = m.Transpose();
        Assert.Equal(3, t.Rows);
        Assert.Equal(6.0, t[2, 1]);
    }

    [Fact]
    public void MultiplyMatchesHandComputedProduct()
    {
        var a = Matrix<double>.FromRows(new double[,] { { 1, 2 }, { 3, 4 } });
        var b = Matrix<double>.FromRows(new double[,] { { 5, 6 }, { 7, 8 } });
        var c = Gemm.Multiply(a, b);
        Assert.Equal(new double[] { 19, 22, 43, 50 }, c.Data);
        var ct = Gemm.Multiply(a, b, Op.Transpose, Op.Transpose);
        Assert.Equal(new double[] { 23, 31, 34, 46 }, ct.Data);
    }
}
