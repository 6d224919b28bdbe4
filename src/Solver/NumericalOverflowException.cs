namespace Flatness.Solver;

/// <summary>
/// The numbers at the given point overflow float64 (for example layers of size 1e200): the message names the quantity.
/// A property of the input, reported as such (the command line exits with code 2).
/// </summary>
public sealed class NumericalOverflowException(string message) : ArithmeticException(message);
