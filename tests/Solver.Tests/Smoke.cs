public class Placeholder { [Xunit.Fact] public void Builds() => Xunit.Assert.True(typeof(Flatness.Solver.Problems.SensingProblem) is not null); }
