using System.Runtime.InteropServices;

namespace Flatness.Cli;

/// <summary>
/// The first SIGINT or SIGTERM cancels <see cref="Token"/> instead of ending the process, so a long command can stop
/// at its next step and keep what it reached; a second signal ends the process as usual.
/// </summary>
internal sealed class SignalStop : IDisposable
{
    private readonly CancellationTokenSource _cancel = new();
    private readonly PosixSignalRegistration _interrupt, _terminate;

    public SignalStop()
    {
        _interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        _terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
    }

    public CancellationToken Token => _cancel.Token;
    public bool Stopped => _cancel.IsCancellationRequested;

    private void Stop(PosixSignalContext context)
    {
        if (_cancel.IsCancellationRequested) return;
        context.Cancel = true;
        _cancel.Cancel();
    }

    public void Dispose()
    {
        _interrupt.Dispose();
        _terminate.Dispose();
        _cancel.Dispose();
    }
}
