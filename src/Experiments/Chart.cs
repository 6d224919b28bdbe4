using System.Globalization;
using ScottPlot;

namespace Flatness.Experiments;

/// <summary>
/// A small line chart on ScottPlot 5, rendered headless to PNG: labelled axes, a legend, optional log scales
/// (data are plotted as log10 with decade ticks) and optional low/high spread bars.
/// </summary>
internal sealed class Chart
{
    private readonly Plot _plot = new();
    private readonly bool _logX, _logY;
    private double _minY = double.PositiveInfinity, _maxY = double.NegativeInfinity;
    private double _minX = double.PositiveInfinity, _maxX = double.NegativeInfinity;
    private bool _integerX;
    private Alignment _legend = Alignment.UpperRight;
    private bool _legendOutside;
    private double[]? _ticksX;

    public Chart(string title, string xLabel, string yLabel, bool logX = false, bool logY = false)
    {
        _logX = logX;
        _logY = logY;
        _plot.Title(title);
        _plot.XLabel(xLabel);
        _plot.YLabel(yLabel);
    }

    /// <summary>
    /// Adds a series; <paramref name="low"/>/<paramref name="high"/> (optional) draw a bar from low to high at each x.
    /// Non-positive values are left out on a log axis. <paramref name="connect"/>: lines between points;
    /// <paramref name="markers"/>: a dot at each point (off for dense curves).
    /// </summary>
    public Chart Series(string legend, IReadOnlyList<double> x, IReadOnlyList<double> y,
        IReadOnlyList<double>? low = null, IReadOnlyList<double>? high = null, bool connect = true, LinePattern? pattern = null,
        bool markers = true)
    {
        if (x.Count != y.Count) throw new ArgumentException($"series '{legend}' has {x.Count} x values and {y.Count} y values");
        var xs = new List<double>();
        var ys = new List<double>();
        var lo = new List<double>();
        var hi = new List<double>();
        for (int i = 0; i < x.Count; i++)
        {
            if (!Usable(x[i], _logX) || !Usable(y[i], _logY)) continue;
            double tx = Tx(x[i]), ty = Ty(y[i]);
            xs.Add(tx);
            ys.Add(ty);
            if (low is not null && high is not null)
            {
                double l = Usable(low[i], _logY) ? Ty(low[i]) : ty;
                double h = Usable(high[i], _logY) ? Ty(high[i]) : ty;
                lo.Add(Math.Max(0, ty - l));
                hi.Add(Math.Max(0, h - ty));
                Track(tx, l);
                Track(tx, h);
            }
            Track(tx, ty);
        }
        if (xs.Count == 0) return this;
        var scatter = connect ? _plot.Add.Scatter(xs.ToArray(), ys.ToArray()) : _plot.Add.ScatterPoints(xs.ToArray(), ys.ToArray());
        scatter.LegendText = legend;
        scatter.MarkerSize = markers ? 6 : 0;
        if (connect) scatter.LineWidth = markers ? 1.5f : 2f;
        if (pattern is { } p) scatter.LinePattern = p;
        if (lo.Count > 0)
        {
            var bars = new ScottPlot.Plottables.ErrorBar(xs, ys, null, null, hi, lo) { Color = scatter.Color };
            _plot.Add.Plottable(bars);
        }
        return this;
    }

    /// <summary>A dashed horizontal line at <paramref name="y"/> with a legend entry.</summary>
    public Chart HorizontalLine(double y, string legend)
    {
        if (!Usable(y, _logY)) return this;
        var line = _plot.Add.HorizontalLine(Ty(y), 1.5f, null, LinePattern.Dashed);
        line.LegendText = legend;
        _minY = Math.Min(_minY, Ty(y));
        _maxY = Math.Max(_maxY, Ty(y));
        return this;
    }

    /// <summary>A dashed vertical line at <paramref name="x"/> with a legend entry.</summary>
    public Chart VerticalLine(double x, string legend)
    {
        if (!Usable(x, _logX)) return this;
        var line = _plot.Add.VerticalLine(Tx(x), 1.5f, null, LinePattern.Dotted);
        line.LegendText = legend;
        return this;
    }

    /// <summary>Where the legend goes (default upper right).</summary>
    public Chart LegendAt(Alignment corner)
    {
        _legend = corner;
        return this;
    }

    /// <summary>The legend to the right of the data area, where it cannot cover a curve.</summary>
    public Chart LegendOutside()
    {
        _legendOutside = true;
        return this;
    }

    /// <summary>Ticks exactly at <paramref name="values"/> on the x axis, labelled with them (the measured sizes).</summary>
    public Chart TicksXAt(IEnumerable<double> values)
    {
        _ticksX = values.ToArray();
        return this;
    }

    /// <summary>Ticks at whole numbers on the x axis (depths, counts).</summary>
    public Chart IntegerTicksX()
    {
        _integerX = true;
        return this;
    }

    /// <summary>Renders to DIR/<paramref name="fileName"/> (temporary file, then rename) and returns the file name.</summary>
    public string Save(string directory, string fileName, int width = 900, int height = 560)
    {
        if (_ticksX is { } at)
        {
            var manual = new ScottPlot.TickGenerators.NumericManual();
            foreach (double x in at.Where(x => Usable(x, _logX)))
                manual.AddMajor(Tx(x), x.ToString("G4", CultureInfo.InvariantCulture));
            _plot.Axes.Bottom.TickGenerator = manual;
        }
        else if (_logX) _plot.Axes.Bottom.TickGenerator = LogTicks(_minX, _maxX);
        else if (_integerX) _plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericFixedInterval(1);
        if (_logY) _plot.Axes.Left.TickGenerator = LogTicks(_minY, _maxY);
        // A span of a few ulps (equal values up to rounding) would ask the tick generators for ~1e16 ticks: widen it.
        if (NearlyEmpty(_minX, _maxX)) _plot.Axes.SetLimitsX(_minX - Pad(_minX, _logX), _maxX + Pad(_maxX, _logX));
        if (NearlyEmpty(_minY, _maxY)) _plot.Axes.SetLimitsY(_minY - Pad(_minY, _logY), _maxY + Pad(_maxY, _logY));
        if (_legendOutside) _plot.ShowLegend(Edge.Right);
        else _plot.ShowLegend(_legend);
        byte[] png = _plot.GetImageBytes(width, height, ImageFormat.Png);
        CellStore.WriteAtomically(Path.Combine(directory, fileName), png);
        return fileName;
    }

    private static bool NearlyEmpty(double min, double max) =>
        double.IsFinite(min) && double.IsFinite(max) && max - min <= 1e-9 * Math.Max(1, Math.Max(Math.Abs(min), Math.Abs(max)));

    private static double Pad(double v, bool log) => log ? 0.5 : Math.Max(0.05 * Math.Abs(v), 1e-9);

    private static bool Usable(double v, bool log) => double.IsFinite(v) && (!log || v > 0);
    private double Tx(double v) => _logX ? Math.Log10(v) : v;
    private double Ty(double v) => _logY ? Math.Log10(v) : v;

    private void Track(double x, double y)
    {
        _minX = Math.Min(_minX, x);
        _maxX = Math.Max(_maxX, x);
        _minY = Math.Min(_minY, y);
        _maxY = Math.Max(_maxY, y);
    }

    /// <summary>
    /// Ticks of a log10 axis spanning [lo, hi] (in log10 units): decades when the span is wide, otherwise the
    /// round values 1, 2, 5 (or 1..9) times a power of ten, each labelled with its value, and minor ticks at 1..9.
    /// </summary>
    private static ScottPlot.ITickGenerator LogTicks(double lo, double hi)
    {
        if (hi - lo >= 2)
            return new ScottPlot.TickGenerators.NumericAutomatic
            {
                MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
                IntegerTicksOnly = true,
                LabelFormatter = FormatPower,
            };
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        int first = (int)Math.Floor(lo) - 1, last = (int)Math.Ceiling(hi) + 1;
        double margin = 0.05 * Math.Max(hi - lo, 0.1);
        bool InRange(double v) => Math.Log10(v) >= lo - margin && Math.Log10(v) <= hi + margin;
        double[] mantissas = Enumerable.Range(first, last - first + 1)
            .SelectMany(k => new[] { 1.0, 2, 5 }.Select(m => m * Math.Pow(10, k))).Count(InRange) >= 3 ? [1, 2, 5] : [1, 2, 3, 4, 5, 6, 7, 8, 9];
        for (int k = first; k <= last; k++)
            for (int m = 1; m <= 9; m++)
            {
                double v = m * Math.Pow(10, k);
                if (!InRange(v)) continue;
                if (mantissas.Contains(m)) ticks.AddMajor(Math.Log10(v), v.ToString("G4", CultureInfo.InvariantCulture));
                else ticks.AddMinor(Math.Log10(v));
            }
        return ticks;
    }

    private static string FormatPower(double log10)
    {
        double v = Math.Pow(10, log10);
        if (Math.Abs(log10 - Math.Round(log10)) < 1e-9)
        {
            int k = (int)Math.Round(log10);
            return k is >= -2 and <= 3 ? v.ToString("0.##", CultureInfo.InvariantCulture) : $"1e{k}";
        }
        return v.ToString(Math.Abs(log10) < 3 ? "0.###" : "0.##e+0", CultureInfo.InvariantCulture);
    }
}
