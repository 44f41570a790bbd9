using System.Text;
using CliWrap;
using CliWrap.Buffered;
using CcatWorkflow.Core.Backends.Slurm.Ssh;
using CcatWorkflow.Core.Retries;

namespace CcatWorkflow.Core.Tests.Slurm;

/// <summary>
/// The retry ledger's remote commands over SSH (plan, exclusive claim, read), run here by a real
/// sh on a real folder (the login node runs the same text), with the job folder reached through
/// its by-id link as on the cluster.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class SshRetryLedgerCommandTests : IDisposable
{
    private const string FolderName = "20260101T000000Z-00000000b1";
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"ccat ssh ledger '{Guid.NewGuid():N}'");

    public SshRetryLedgerCommandTests()
    {
        Directory.CreateDirectory(Path.Combine(_root, FolderName));
        File.CreateSymbolicLink(Path.Combine(_root, "301"), FolderName);
    }

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    private static async Task<BufferedCommandResult> RunShAsync(string text, string? input = null) =>
        await Cli.Wrap("sh").WithArguments(["-c", text]).WithValidation(CommandResultValidation.None)
            .WithStandardInputPipe(input is null ? PipeSource.Null : PipeSource.FromString(input, new UTF8Encoding(false)))
            .ExecuteBufferedAsync(Encoding.UTF8);

    private string InFolder(string file) => Path.Combine(_root, FolderName, file);

    [Fact]
    public async Task Of_many_callers_claiming_one_attempt_at_once_exactly_one_wins_and_its_text_is_the_claim()
    {
        var claims = Enumerable.Range(0, 12).Select(i => $"{{\"claimedBy\":\"host:{i}\"}}").ToList();
        var results = await Task.WhenAll(claims.Select(c => RunShAsync(SshRetryLedger.ClaimText(_root, "301", FileRetryLedger.ClaimFile(2)), c)));

        Assert.All(results, r => Assert.Equal(0, r.ExitCode));
        var winners = Enumerable.Range(0, claims.Count).Where(i => results[i].StandardOutput.Trim() == SshRetryLedger.Won).ToList();
        Assert.Single(winners);
        Assert.Equal(claims.Count - 1, results.Count(r => r.StandardOutput.Trim() == SshRetryLedger.Lost));
        Assert.Equal(claims[winners[0]], await File.ReadAllTextAsync(InFolder(FileRetryLedger.ClaimFile(2))));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(InFolder(FileRetryLedger.ClaimFile(2))));
        // No temporary file is left behind.
        Assert.Equal([FileRetryLedger.ClaimFile(2)], Directory.GetFiles(Path.Combine(_root, FolderName)).Select(Path.GetFileName));

        // The winner asking again (its answer lost with a broken connection) still won; another caller still lost.
        Assert.Equal(SshRetryLedger.Won, (await RunShAsync(SshRetryLedger.ClaimText(_root, "301", FileRetryLedger.ClaimFile(2)), claims[winners[0]])).StandardOutput.Trim());
        Assert.Equal(SshRetryLedger.Lost, (await RunShAsync(SshRetryLedger.ClaimText(_root, "301", FileRetryLedger.ClaimFile(2)), "{\"claimedBy\":\"late\"}")).StandardOutput.Trim());
    }

    [Fact]
    public async Task The_plan_and_updated_claims_are_replaced_whole_and_read_back_per_job_in_one_command()
    {
        const string plan = "{\"policy\": {\"retryOn\": [\"OutOfMemory\"]}, \"command\": \"echo 'a: b' \\\"c\\\"\"}";
        Assert.Equal(0, (await RunShAsync(SshRetryLedger.ReplaceText(_root, "301", FileRetryLedger.PlanFile), plan)).ExitCode);
        Assert.Equal(0, (await RunShAsync(SshRetryLedger.ClaimText(_root, "301", FileRetryLedger.ClaimFile(2)), "{\"attempt\":2}")).ExitCode);
        Assert.Equal(0, (await RunShAsync(SshRetryLedger.ReplaceText(_root, "301", FileRetryLedger.ClaimFile(2)), "{\"attempt\":2,\n\"jobId\":\"302\"}")).ExitCode);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(InFolder(FileRetryLedger.PlanFile)));

        // A second job without a plan, and one whose folder does not exist: left out.
        Directory.CreateDirectory(Path.Combine(_root, "20260101T000000Z-00000000b2"));
        File.CreateSymbolicLink(Path.Combine(_root, "303"), "20260101T000000Z-00000000b2");
        var read = await RunShAsync(SshRetryLedger.ReadText(_root, ["301", "303", "304"]));
        var entries = SshRetryLedger.ParseRead(read.StandardOutput, ["301", "303", "304"]);

        Assert.Equal(["301"], entries.Keys);
        Assert.Equal(plan + "\n", entries["301"].Plan);
        Assert.Equal([2], entries["301"].Claims.Keys);
        Assert.Equal("{\"attempt\":2,\n\"jobId\":\"302\"}\n", entries["301"].Claims[2]);
        Assert.Equal("302", RetryClaim.FromJson(2, entries["301"].Claims[2]).JobId);

        // An array element's claims live in its array's folder, apart from the array's own.
        Assert.Equal(SshRetryLedger.Won, (await RunShAsync(SshRetryLedger.ClaimText(_root, "301", FileRetryLedger.ClaimFile("301_7", 2)), "{\"attempt\":2,\"jobId\":\"305\"}")).StandardOutput.Trim());
        var elements = SshRetryLedger.ParseRead((await RunShAsync(SshRetryLedger.ReadText(_root, ["301_7", "301_8", "301"]))).StandardOutput, ["301_7", "301_8", "301"]);
        Assert.Equal("305", RetryClaim.FromJson(2, elements["301_7"].Claims[2]).JobId);
        Assert.Empty(elements["301_8"].Claims);
        Assert.Equal("302", RetryClaim.FromJson(2, elements["301"].Claims[2]).JobId);
    }

    [Fact]
    public async Task A_job_whose_folder_is_gone_is_told_apart_from_a_claim_lost()
    {
        var claim = await RunShAsync(SshRetryLedger.ClaimText(_root, "399", FileRetryLedger.ClaimFile(2)), "{}");
        var plan = await RunShAsync(SshRetryLedger.ReplaceText(_root, "399", FileRetryLedger.PlanFile), "{}");

        Assert.Equal(3, claim.ExitCode);
        Assert.Equal("", claim.StandardOutput);
        Assert.Equal(3, plan.ExitCode);
        Assert.Empty(SshRetryLedger.ParseRead((await RunShAsync(SshRetryLedger.ReadText(_root + "-missing", ["301"]))).StandardOutput, ["301"]));
    }
}
