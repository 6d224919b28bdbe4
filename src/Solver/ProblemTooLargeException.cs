namespace Flatness.Solver;

/// <summary>
/// A problem too large for one array or for this machine, refused before any work: the message says what is needed
/// and what there is.
/// </summary>
public sealed class ProblemTooLargeException(string message) : Exception(message);
