using System.Runtime.InteropServices;

namespace CcatWorkflow.Core.Backends.Local;

/// <summary>access(2): may this process make cgroups in a hierarchy, without trying to.</summary>
internal static partial class CgroupNative
{
    private const int W_OK = 2, X_OK = 1;

    [LibraryImport("libc", EntryPoint = "access", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int AccessNative(string path, int mode);

    /// <summary>True when this process may create entries in <paramref name="folder"/>.</summary>
    public static bool IsWritable(string folder) => AccessNative(folder, W_OK | X_OK) == 0;
}
