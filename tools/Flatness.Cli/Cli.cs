using Flatness.Solver;
using System.CommandLine;
using Flatness.Solver.Backends;

namespace Flatness.Cli;

/// <summary>
/// Process-level conventions: bad input (files, options, sizes, a device asked for that is not there) is one line on
/// stderr and exit code 2; anything else is a bug, one line saying so and exit code 70 (EX_SOFTWARE), with the stack
/// trace only when FLATNESS_DEBUG=1.
/// </summary>
internal static class Cli
{
    public const int Ok = 0;
    public const int BadInput = 2;
    public const int InternalError = 70;
    /// <summary>Stopped by SIGINT or SIGTERM before the work was done (128 + SIGINT, as a shell reports it).</summary>
    public const int Interrupted = 130;

    public static int Run(RootCommand root, string[] args)
    {
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            Console.Error.WriteLine($"flatness: {parsed.Errors[0].Message}");
            return BadInput;
        }
        return parsed.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
    }

    /// <summary>Runs a command body; expected failures (bad files, bad shapes, bad options) become one line and exit code 2.</summary>
    public static int Guard(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e) when (IsUserError(e))
        {
            Console.Error.WriteLine($"flatness: {Message(e)}");
            return BadInput;
        }
        catch (OutOfMemoryException)
        {
            Console.Error.WriteLine($"flatness: out of memory (this machine has {GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 1e9:G3} GB " +
                "available): use a smaller problem or the float32 precision");
            return BadInput;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"flatness: internal error ({e.GetType().Name}: {Message(e).ReplaceLineEndings(" ")}); " +
                "please report it with the command that caused it (FLATNESS_DEBUG=1 shows the stack trace)");
            if (Environment.GetEnvironmentVariable("FLATNESS_DEBUG") == "1") Console.Error.WriteLine(e);
            return InternalError;
        }
    }

    /// <summary>The exception's message without the " (Parameter 'name')" suffix argument exceptions append.</summary>
    private static string Message(Exception e)
    {
        string message = e.Message;
        if (e is ArgumentException { ParamName: { } name })
        {
            string suffix = $" (Parameter '{name}')";
            if (message.EndsWith(suffix, StringComparison.Ordinal)) message = message[..^suffix.Length];
        }
        // One line: ArgumentOutOfRangeException appends "Actual value was ..." on a second line.
        int newline = message.IndexOf('\n');
        return newline < 0 ? message : message[..newline].TrimEnd();
    }

    private static bool IsUserError(Exception e) =>
        e is ArgumentException or IOException or InvalidDataException or UnauthorizedAccessException or FormatException
            or ProblemTooLargeException or NumericalOverflowException or Kernels.Gpu.GpuUnavailableException;
}
