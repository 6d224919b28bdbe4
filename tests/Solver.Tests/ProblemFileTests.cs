using Flatness.Kernels.Tensors;
using Flatness.Solver.Problems;
using Flatness.Solver.Problems.NumPy;

namespace Flatness.Tests;

public class ProblemFileTests : IDisposable
{
    private readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    private string P(string name = "p.npz") => _dir.File(name);

    private static double[] Seq(int n, double start = 0.25) => Enumerable.Range(0, n).Select(i => start + 0.5 * i - 0.01 * i * i).ToArray();

    private static Matrix<double> Mat(int r, int c, double start = 1) => new(r, c, Seq(r * c, start));

    /// <summary>Asserts a ProblemFileException naming the file, the array (or none) and containing the fragment.</summary>
    private static ProblemFileException Fails(Action load, string path, string? array, string fragment)
    {
        var e = Assert.Throws<ProblemFileException>(load);
        Assert.Contains(path, e.Message);
        Assert.Equal(path, e.File);
        Assert.Equal(array, e.Array);
        if (array is not null) Assert.Contains($"'{array}'", e.Message);
        Assert.Contains(fragment, e.Message);
        Assert.DoesNotContain("\n", e.Message);
        return e;
    }

    private ProblemFileException ProblemFails(string? array, string fragment, params NpyArray[] arrays)
    {
        var path = P();
        Npz.WriteFile(path, arrays);
        return Fails(() => ProblemFiles.LoadProblem(path), path, array, fragment);
    }

    private ProblemFileException LayersFails(string? array, string fragment, params NpyArray[] arrays)
    {
        var path = P("w.npz");
        Npz.WriteFile(path, arrays);
        return Fails(() => ProblemFiles.LoadLayers(path), path, array, fragment);
    }

    private static NpyArray F(string name, int[] shape, NpyDType dtype = NpyDType.Float64) =>
        NpyArray.Float(name, shape, Seq(shape.Aggregate(1, (a, b) => a * b)), dtype);

    private static NpyArray I(string name, int[] shape, long[] values, NpyDType dtype = NpyDType.Int64) =>
        NpyArray.Integer(name, shape, values, dtype);

    // ------------------------------------------------------------ round trips

    [Fact]
    public void DenseProblemRoundTrips()
    {
        var problem = new SensingProblem(new DenseMeasurements(4, 2, 3, Seq(24)), Seq(4, -1), Mat(2, 3));
        ProblemFiles.SaveProblem(P(), problem);
        var back = ProblemFiles.LoadProblem(P());
        var dense = Assert.IsType<DenseMeasurements>(back.Measurements);
        Assert.Equal(((DenseMeasurements)problem.Measurements).A, dense.A);
        Assert.Equal((4, 2, 3), (back.Count, back.OutputDim, back.InputDim));
        Assert.Equal(problem.Labels, back.Labels);
        Assert.Equal(problem.GroundTruth!.Data, back.GroundTruth!.Data);
    }

    [Fact]
    public void CompletionProblemRoundTrips()
    {
        var problem = new SensingProblem(new CompletionMeasurements(3, 4, [0, 2, 1, 2], [3, 0, 1, 1], scale: 2.5), Seq(4));
        ProblemFiles.SaveProblem(P(), problem, compressed: true);
        var back = ProblemFiles.LoadProblem(P());
        var c = Assert.IsType<CompletionMeasurements>(back.Measurements);
        Assert.Equal(new[] { 0, 2, 1, 2 }, c.RowIndex);
        Assert.Equal(new[] { 3, 0, 1, 1 }, c.ColIndex);
        Assert.Equal(2.5, c.Scale);
        Assert.Equal((3, 4), (back.OutputDim, back.InputDim));
        Assert.Null(back.GroundTruth);
    }

    [Fact]
    public void RankOneProblemRoundTrips()
    {
        var problem = new SensingProblem(new RankOneMeasurements(5, 3, 2, Seq(15), Seq(10, 3)), Seq(5), Mat(3, 2));
        ProblemFiles.SaveProblem(P(), problem);
        var back = ProblemFiles.LoadProblem(P());
        var r = Assert.IsType<RankOneMeasurements>(back.Measurements);
        Assert.Equal(Seq(15), r.U);
        Assert.Equal(Seq(10, 3), r.V);
        Assert.Equal(problem.GroundTruth!.Data, back.GroundTruth!.Data);
    }

    [Fact]
    public void AcceptsFloat32AndInt32Arrays()
    {
        Npz.WriteFile(P(), [
            I("rows", [3], [0, 1, 1], NpyDType.Int32), I("cols", [3], [1, 0, 1], NpyDType.Int32),
            I("shape", [2], [2, 2], NpyDType.Int32), F("b", [3], NpyDType.Float32),
            NpyArray.Float("scale", [1], [0.5], NpyDType.Float32)]);
        var problem = ProblemFiles.LoadProblem(P());
        var c = Assert.IsType<CompletionMeasurements>(problem.Measurements);
        Assert.Equal(0.5, c.Scale);
        Assert.Equal(Seq(3).Select(v => (double)(float)v), problem.Labels);

        Npz.WriteFile(P("d.npz"), [F("A", [2, 1, 1], NpyDType.Float32), F("b", [2], NpyDType.Float32)]);
        Assert.Equal(2, ProblemFiles.LoadProblem(P("d.npz")).Count);
    }

    [Fact]
    public void CompletionScaleDefaultsToOne()
    {
        Npz.WriteFile(P(), [I("rows", [1], [0]), I("cols", [1], [0]), I("shape", [2], [1, 1]), F("b", [1])]);
        Assert.Equal(1.0, Assert.IsType<CompletionMeasurements>(ProblemFiles.LoadProblem(P()).Measurements).Scale);
    }

    [Fact]
    public void ReadsAProblemLaidOutAsNumPySavezWritesIt()
    {
        File.WriteAllBytes(P(), NpyBytes.PythonZip(true,
            ("A.npy", NpyBytes.Float64("(2, 1, 2)", 1, 2, 3, 4)),
            ("b.npy", NpyBytes.Float64("(2,)", 5, 6))));
        var problem = ProblemFiles.LoadProblem(P());
        Assert.Equal(new[] { 1.0, 2, 3, 4 }, ((DenseMeasurements)problem.Measurements).A);
        Assert.Equal(new[] { 5.0, 6 }, problem.Labels);
    }

    [Fact]
    public void LayersRoundTrip()
    {
        Matrix<double>[] layers = [Mat(4, 3), Mat(2, 4, -2), Mat(5, 2, 7)];
        ProblemFiles.SaveLayers(P("w.npz"), layers);
        var back = ProblemFiles.LoadLayers(P("w.npz"));
        Assert.Equal(new[] { 3, 4, 2, 5 }, back.Dims);
        for (int j = 0; j < 3; j++) Assert.Equal(layers[j].Data, back.Layers[j].Data);
    }

    [Fact]
    public void LayersMayBeStoredInAnyOrderAndBeyondNine()
    {
        var arrays = Enumerable.Range(1, 11).Reverse().Select(j => F($"W{j}", [2, 2])).ToArray();
        Npz.WriteFile(P("w.npz"), arrays);
        Assert.Equal(11, ProblemFiles.LoadLayers(P("w.npz")).Depth);
    }

    [Fact]
    public void GradientsAreSavedUnderTheirNames()
    {
        ProblemFiles.SaveGradients(P("g.npz"), [Mat(2, 3), Mat(4, 2)], [Mat(2, 3, 5), Mat(4, 2, 6)]);
        var arrays = Npz.ReadFile(P("g.npz"));
        Assert.Equal(new[] { "grad_loss_W1", "grad_loss_W2", "grad_trace_W1", "grad_trace_W2" }, arrays.Select(a => a.Name));
        Assert.Equal(new[] { 4, 2 }, arrays[3].Shape);
        Assert.Equal(Mat(4, 2, 6).Data, arrays[3].Floats);
    }

    // ------------------------------------------------------------ files

    [Fact]
    public void MissingFile() => Fails(() => ProblemFiles.LoadProblem(P("nope.npz")), P("nope.npz"), null, "file not found");

    [Fact]
    public void MissingDirectory() => Fails(() => ProblemFiles.LoadLayers(P("no/dir/w.npz")), P("no/dir/w.npz"), null, "file not found");

    [Fact]
    public void DirectoryInsteadOfFile()
    {
        Directory.CreateDirectory(P("d.npz"));
        Fails(() => ProblemFiles.LoadProblem(P("d.npz")), P("d.npz"), null, "is a directory");
    }

    [Fact]
    public void NotAZipFile()
    {
        File.WriteAllText(P(), "A,b\n1,2\n");
        Fails(() => ProblemFiles.LoadProblem(P()), P(), null, "not a zip file");
        File.WriteAllBytes(P(), []);
        Fails(() => ProblemFiles.LoadProblem(P()), P(), null, "empty file");
    }

    [Fact]
    public void TruncatedFile()
    {
        ProblemFiles.SaveProblem(P("full.npz"), new SensingProblem(new DenseMeasurements(4, 2, 3, Seq(24)), Seq(4)));
        var bytes = File.ReadAllBytes(P("full.npz"));
        File.WriteAllBytes(P(), bytes[..(bytes.Length - 40)]);
        Fails(() => ProblemFiles.LoadProblem(P()), P(), null, "truncated");
    }

    [Fact]
    public void TruncatedArrayInsideTheArchive()
    {
        var a = NpyBytes.Float64("(2, 1, 2)", 1, 2, 3, 4);
        NpyBytes.Arrays(P(), ("A", a[..^8]), ("b", NpyBytes.Float64("(2,)", 1, 2)));
        Fails(() => ProblemFiles.LoadProblem(P()), P(), "A", "truncated data");
    }

    [Fact]
    public void UnsupportedDType()
    {
        NpyBytes.Arrays(P(), ("A", NpyBytes.V1(NpyBytes.Dict(">f8", "(1, 1, 1)"), new byte[8])), ("b", NpyBytes.Float64("(1,)", 1)));
        Fails(() => ProblemFiles.LoadProblem(P()), P(), "A", "big-endian");
        NpyBytes.Arrays(P(), ("A", NpyBytes.Float64("(1, 1, 1)", 1)), ("b", NpyBytes.V1(NpyBytes.Dict("<c16", "(1,)"), new byte[16])));
        Fails(() => ProblemFiles.LoadProblem(P()), P(), "b", "complex");
    }

    [Fact]
    public void FortranOrder()
    {
        NpyBytes.Arrays(P(), ("A", NpyBytes.V1(NpyBytes.Dict("<f8", "(1, 2, 2)", fortran: true), NpyBytes.F8(1, 2, 3, 4))), ("b", NpyBytes.Float64("(1,)", 1)));
        Fails(() => ProblemFiles.LoadProblem(P()), P(), "A", "Fortran");
    }

    [Fact]
    public void UnwritableDestinationLeavesNoFile()
    {
        var path = P("missing-dir/out.npz");
        Fails(() => ProblemFiles.SaveLayers(path, [Mat(2, 2)]), path, null, "cannot write");
        Assert.Empty(_dir.Listing());
    }

    // ------------------------------------------------------------ problem contents

    [Fact]
    public void NoMeasurementArrays() => ProblemFails(null, "no measurement arrays", F("b", [3]), F("M_star", [2, 2]));

    [Fact]
    public void AmbiguousKind()
    {
        var e = ProblemFails(null, "ambiguous", F("A", [2, 1, 1]), F("u", [2, 1]), F("v", [2, 1]), F("b", [2]));
        Assert.Contains("'A' is a dense array", e.Message);
        Assert.Contains("'u' is a rank-one array", e.Message);
    }

    [Fact]
    public void MissingArrays()
    {
        ProblemFails("b", "missing", F("A", [2, 1, 1]));
        ProblemFails("cols", "missing", I("rows", [1], [0]), I("shape", [2], [1, 1]), F("b", [1]));
        ProblemFails("shape", "missing", I("rows", [1], [0]), I("cols", [1], [0]), F("b", [1]));
        ProblemFails("v", "missing", F("u", [2, 3]), F("b", [2]));
    }

    [Fact]
    public void UnexpectedArray() => ProblemFails("Mstar", "unexpected array", F("A", [2, 1, 1]), F("b", [2]), F("Mstar", [1, 1]));

    [Fact]
    public void NoMeasurements()
    {
        ProblemFails("A", "n = 0", F("A", [0, 2, 2]), F("b", [0]));
        ProblemFails("rows", "n = 0", I("rows", [0], []), I("cols", [0], []), I("shape", [2], [2, 2]), F("b", [0]));
        ProblemFails("u", "n = 0", F("u", [0, 2]), F("v", [0, 2]), F("b", [0]));
    }

    [Fact]
    public void WrongLengthOfB()
    {
        var e = ProblemFails("b", "has length 3 but there are 2 measurements", F("A", [2, 1, 1]), F("b", [3]));
        ProblemFails("b", "has length 1 but there are 2", I("rows", [2], [0, 0]), I("cols", [2], [0, 0]), I("shape", [2], [1, 1]), F("b", [1]));
    }

    [Fact]
    public void WrongRank()
    {
        ProblemFails("A", "has rank 2 (shape (2, 4)); expected rank 3, (n, d_L, d_0)", F("A", [2, 4]), F("b", [2]));
        ProblemFails("b", "has rank 2", F("A", [2, 1, 1]), F("b", [2, 1]));
        ProblemFails("M_star", "has rank 1", F("A", [2, 1, 1]), F("b", [2]), F("M_star", [1]));
        ProblemFails("rows", "has rank 2", I("rows", [1, 1], [0]), I("cols", [1], [0]), I("shape", [2], [1, 1]), F("b", [1]));
        ProblemFails("u", "has rank 3", F("u", [2, 1, 1]), F("v", [2, 1]), F("b", [2]));
    }

    [Fact]
    public void WrongShapes()
    {
        ProblemFails("M_star", "has shape (3, 2) but the measurements are (d_L, d_0) = (2, 3)", F("A", [1, 2, 3]), F("b", [1]), F("M_star", [3, 2]));
        ProblemFails("shape", "has 3 entries", I("rows", [1], [0]), I("cols", [1], [0]), I("shape", [3], [1, 1, 1]), F("b", [1]));
        ProblemFails("shape", "must be positive", I("rows", [1], [0]), I("cols", [1], [0]), I("shape", [2], [0, 1]), F("b", [1]));
        ProblemFails("cols", "has length 1 but rows has length 2", I("rows", [2], [0, 0]), I("cols", [1], [0]), I("shape", [2], [1, 1]), F("b", [2]));
        ProblemFails("v", "has 3 rows but u has 2", F("u", [2, 1]), F("v", [3, 1]), F("b", [2]));
        ProblemFails("A", "must be positive", F("A", [2, 0, 1]), F("b", [2]));
        ProblemFails("scale", "has shape (2,)", I("rows", [1], [0]), I("cols", [1], [0]), I("shape", [2], [1, 1]), F("b", [1]), F("scale", [2]));
    }

    [Fact]
    public void WrongDTypeKind()
    {
        ProblemFails("b", "has dtype <i8; expected a float array", F("A", [1, 1, 1]), I("b", [1], [1]));
        ProblemFails("rows", "has dtype <f8; expected an integer array", F("rows", [1]), I("cols", [1], [0]), I("shape", [2], [1, 1]), F("b", [1]));
        ProblemFails("W1", "unexpected array", F("A", [1, 1, 1]), F("b", [1]), F("W1", [1, 1]));
    }

    [Fact]
    public void NonFiniteValuesNameTheFirstBadIndex()
    {
        var a = Seq(12);
        a[7] = double.NaN;
        a[9] = double.PositiveInfinity;
        ProblemFails("A", "NaN at index [1, 0, 1]", NpyArray.Float("A", [2, 2, 3], a), F("b", [2]));
        var b = Seq(2);
        b[1] = double.NegativeInfinity;
        ProblemFails("b", "-Inf at index [1]", F("A", [2, 2, 3]), NpyArray.Float("b", [2], b));
        var m = Seq(6);
        m[5] = double.PositiveInfinity;
        ProblemFails("M_star", "+Inf at index [1, 2]", F("A", [2, 2, 3]), F("b", [2]), NpyArray.Float("M_star", [2, 3], m));
        var v = Seq(4);
        v[0] = double.NaN;
        ProblemFails("v", "NaN at index [0, 0]", F("u", [2, 1]), NpyArray.Float("v", [2, 2], v), F("b", [2]));
        ProblemFails("scale", "NaN at index [()]", I("rows", [1], [0]), I("cols", [1], [0]), I("shape", [2], [1, 1]), F("b", [1]), NpyArray.Float("scale", [], [double.NaN]));
        ProblemFails("scale", "is 0", I("rows", [1], [0]), I("cols", [1], [0]), I("shape", [2], [1, 1]), F("b", [1]), NpyArray.Float("scale", [], [0.0]));
    }

    [Fact]
    public void IndicesOutOfRange()
    {
        ProblemFails("rows", "rows[2] = 3 is outside [0, 3)", I("rows", [3], [0, 2, 3]), I("cols", [3], [0, 0, 0]), I("shape", [2], [3, 4]), F("b", [3]));
        ProblemFails("cols", "cols[0] = -1 is outside [0, 4)", I("rows", [1], [0]), I("cols", [1], [-1]), I("shape", [2], [3, 4]), F("b", [1]));
        ProblemFails("cols", "cols[0] = 9999999999 is outside", I("rows", [1], [0]), I("cols", [1], [9_999_999_999]), I("shape", [2], [3, 4]), F("b", [1]));
    }

    // ------------------------------------------------------------ layers contents

    [Fact]
    public void LayerGaps()
    {
        var e = LayersFails("W2", "missing: layers must be numbered W1 .. WL without gaps (found W1, W3)", F("W1", [2, 2]), F("W3", [2, 2]));
        LayersFails("W1", "missing", F("W2", [2, 2]));
    }

    [Fact]
    public void LayerNamesOutsideW1ToWL()
    {
        LayersFails("W0", "unexpected array", F("W0", [2, 2]), F("W1", [2, 2]));
        LayersFails("W01", "unexpected array", F("W01", [2, 2]));
        LayersFails("w1", "unexpected array", F("w1", [2, 2]));
        LayersFails("bias", "unexpected array", F("W1", [2, 2]), F("bias", [2]));
        LayersFails(null, "no layers");
    }

    [Fact]
    public void LayersThatDoNotChain() =>
        LayersFails("W2", "has shape (3, 5) but W1 has shape (4, 2): layers do not chain (W2 needs 4 columns)",
            F("W1", [4, 2]), F("W2", [3, 5]));

    [Fact]
    public void LayerRankDTypeAndValues()
    {
        LayersFails("W1", "has rank 1", F("W1", [4]));
        LayersFails("W2", "has dtype <i8", F("W1", [1, 1]), I("W2", [1, 1], [1]));
        LayersFails("W1", "must be positive", F("W1", [0, 3]));
        var w = Seq(6);
        w[4] = double.NaN;
        LayersFails("W2", "NaN at index [2, 0]", F("W1", [2, 2]), NpyArray.Float("W2", [3, 2], w));
    }

    [Fact]
    public void EndToEndShapeMustMatchTheProblem()
    {
        var problem = new SensingProblem(new DenseMeasurements(2, 5, 6, Seq(60)), Seq(2));
        ProblemFiles.SaveLayers(P("w.npz"), [Mat(4, 6), Mat(4, 4)]);
        Fails(() => ProblemFiles.LoadLayers(P("w.npz"), problem), P("w.npz"), "W2",
            "end-to-end matrix W2 ... W1 has shape (4, 6) but the problem's measurements are (d_L, d_0) = (5, 6)");
        ProblemFiles.SaveLayers(P("w.npz"), [Mat(4, 7), Mat(5, 4)]);
        Fails(() => ProblemFiles.LoadLayers(P("w.npz"), problem), P("w.npz"), "W1", "has shape (5, 7)");
        ProblemFiles.SaveLayers(P("w.npz"), [Mat(4, 6), Mat(5, 4)]);
        Assert.Equal(new[] { 6, 4, 5 }, ProblemFiles.LoadLayers(P("w.npz"), problem).Dims);
    }
}
