using System.CommandLine;

namespace Flatness.Cli;

/// <summary>Process-level conventions: bad input is one line on stderr and exit code 2, never a stack trace.</summary>
internal static class Cli
{
    public const int Ok = 0;
    public const int BadInput = 2;

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
        return message;
    }

    private static bool IsUserError(Exception e) =>
        e is ArgumentException or IOException or InvalidDataException or UnauthorizedAccessException
            or FormatException or NotSupportedException or InvalidOperationException;
}
