public class CliPlaceholder { [Xunit.Fact] public void Builds() => Xunit.Assert.True(typeof(Flatness.Cli.Cli) is not null); }
