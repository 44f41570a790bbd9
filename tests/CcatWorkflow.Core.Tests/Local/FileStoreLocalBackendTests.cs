using System.Text.Json;
using CcatWorkflow.Core.Backends.Local;

namespace CcatWorkflow.Core.Tests.Local;

/// <summary>The Local backend's behaviour on the embedded file store (the default).</summary>
[Trait("Tier", "Process")] // runs real jobs under the Local runner for seconds each (build.ps1 -Task Unit leaves it out)
public sealed class FileStoreLocalBackendTests : LocalBackendBehaviour
{
    private protected override LocalStoreOptions StoreOptions(string jobRoot) => new() { Kind = "file", JobRoot = jobRoot };

    /// <summary>The file store's LOCAL_JOB_DIR below a regular file. (The behaviour test then compares it with this class's JobRoot.)</summary>
    private protected override LocalStoreOptions UnreachableStoreOptions()
    {
        var file = JobRoot + ".file";
        File.WriteAllText(file, "");
        return new LocalStoreOptions { Kind = "file", JobRoot = Path.Combine(file, "jobs") };
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        File.Delete(JobRoot + ".file");
    }

    protected override IReadOnlyDictionary<string, string> StoreSettings() => new Dictionary<string, string> { ["LOCAL_JOB_STORE"] = "file" };

    protected override Task<IReadOnlyDictionary<string, string>?> RawRecordAsync(string id) => ReadRecord(JobRoot, id);

    /// <summary>The outage: another writer holds the record's lock for longer than the runner waits for it.</summary>
    private protected override Task<StoreOutage> NewOutageScenarioAsync()
    {
        var store = new LocalStoreOptions { Kind = "file", JobRoot = JobRoot, FileLockTimeoutMs = 300 };
        var backend = NewBackend(store);
        var held = new List<FileStream>();
        return Task.FromResult(new StoreOutage
        {
            Backend = backend,
            Break = () =>
            {
                foreach (var dir in Directory.EnumerateDirectories(JobRoot))
                {
                    held.Add(new FileStream(Path.Combine(dir, FileJobStore.LockFile), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
                }

                return Task.CompletedTask;
            },
            Restore = () =>
            {
                foreach (var f in held) f.Dispose();
                held.Clear();
                return Task.CompletedTask;
            },
            RawRecord = id => ReadRecord(JobRoot, id),
        });
    }

    private static Task<IReadOnlyDictionary<string, string>?> ReadRecord(string root, string id)
    {
        var path = Path.Combine(root, id, FileJobStore.RecordFile);
        return Task.FromResult<IReadOnlyDictionary<string, string>?>(
            File.Exists(path) ? JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(path)) : null);
    }
}
