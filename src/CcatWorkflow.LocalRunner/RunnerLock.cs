using CcatWorkflow.Core.Backends.Local;

namespace CcatWorkflow.LocalRunner;

/// <summary>
/// The runner's liveness evidence (docs/security.md): an exclusive flock on a folder's
/// runner.lock, held for the runner's whole life. A reader that can take the lock knows the
/// runner is dead. Used by the job runner and by the array runner alike.
/// </summary>
internal static class RunnerLock
{
    /// <summary>
    /// Opens <paramref name="path"/> (0600, no symlink, a regular file) and takes its exclusive
    /// flock; returns null and the descriptor (never to be closed) when done, else why not.
    /// </summary>
    public static string? Take(string path, out int fd)
    {
        fd = SafeFile.OpenForLock(path, create: true);
        if (fd < 0) return $"cannot open {path}: {SafeFile.Strerror(-fd)}";
        if (!SafeFile.IsRegularFile(fd))
        {
            SafeFile.Close(fd);
            return $"{path} is not a regular file";
        }

        using var handle = new Microsoft.Win32.SafeHandles.SafeFileHandle(fd, ownsHandle: false);
        var err = LocalNative.Flock(handle, LocalNative.LOCK_EX | LocalNative.LOCK_NB);
        for (var i = 0; i < 40 && err == LocalNative.EWOULDBLOCK; i++)
        {
            // A reader probing the lock holds it shared for an instant; another runner for good.
            Thread.Sleep(50);
            err = LocalNative.Flock(handle, LocalNative.LOCK_EX | LocalNative.LOCK_NB);
        }

        if (err != 0)
        {
            SafeFile.Close(fd);
            return err == LocalNative.EWOULDBLOCK ? $"{path} is locked: another runner has this job" : $"cannot lock {path}: {SafeFile.Strerror(err)}";
        }

        return null;
    }
}
