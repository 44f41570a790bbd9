using System.Globalization;
using System.Text;
using CcatWorkflow.Core.Errors;
using CcatWorkflow.Core.Execution;
using CcatWorkflow.Core.Retries;

namespace CcatWorkflow.Core.Backends.Slurm.Ssh;

/// <summary>
/// The retry ledger in the job folders on the cluster, reached over SSH: the same files as
/// <see cref="FileRetryLedger"/> (<c>retry-plan.json</c>, one <c>retry-attempt-&lt;n&gt;.json</c>
/// per claim; an array element's in its array's folder, <see cref="RetryLedgerKey"/>) in
/// <c>SLURM_JOB_DIR/&lt;id&gt;</c> on the login node's file system — which every
/// host that submits to the cluster reaches the same way, so the claim is made where the folder
/// is. Each operation is one remote command. A claim is an exclusive create there: a whole
/// temporary file hard-linked into place (<c>ln</c> fails for every caller but one, on a local
/// disk and on NFS alike, and no one sees it half written); texts travel on standard input.
/// </summary>
public sealed class SshRetryLedger(SshConnection connection, string root) : IRetryLedger
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(1);

    /// <summary>What the claim command prints for the caller that made the claim.</summary>
    public const string Won = "won";

    /// <summary>What it prints for every other caller.</summary>
    public const string Lost = "lost";

    // The folder is gone (exit 3): a job removed or never submitted here.
    private const int NoFolder = 3;

    /// <summary>
    /// The command that writes standard input to <paramref name="file"/> in the folder of
    /// <paramref name="jobId"/>, whole (a temporary file renamed over it): 0600 in a folder that
    /// must exist (exit 3 when it does not).
    /// </summary>
    public static string ReplaceText(string root, string jobId, string file) =>
        Enter(root, jobId) + "t=$(mktemp .ccat-retry.XXXXXX) || exit 4; cat >\"$t\" && mv -f -- \"$t\" " + ShellQuoting.Quote(file) + " || { rm -f -- \"$t\"; exit 4; }";

    /// <summary>
    /// The command that claims <paramref name="file"/> in the folder of <paramref name="jobId"/>
    /// with the text on standard input, exclusively: prints <see cref="Won"/> for exactly one
    /// caller and <see cref="Lost"/> for the others. Run again after a broken connection, it
    /// still prints <see cref="Won"/> to the caller whose text is the claim's (each claim names
    /// its claimer and time), so a lost answer never loses a claim that was made.
    /// </summary>
    public static string ClaimText(string root, string jobId, string file)
    {
        var f = ShellQuoting.Quote(file);
        return Enter(root, jobId) + "t=$(mktemp .ccat-retry.XXXXXX) || exit 4; cat >\"$t\" || { rm -f -- \"$t\"; exit 4; }; "
            + "if ln -- \"$t\" " + f + " 2>/dev/null || cmp -s -- \"$t\" " + f + "; then r=" + Won + "; elif [ -e " + f + " ]; then r=" + Lost + "; else r=; fi; "
            + "rm -f -- \"$t\"; [ -n \"$r\" ] || exit 4; echo \"$r\"";
    }

    /// <summary>
    /// The one command that reads the plans and claims of <paramref name="jobIds"/>: every line
    /// of every file as <c>grep -H</c> prints it (<c>id/file:line</c>; one process for all files),
    /// for the jobs whose folder holds a plan.
    /// </summary>
    public static string ReadText(string root, IReadOnlyList<string> jobIds)
    {
        ArgumentNullException.ThrowIfNull(jobIds);
        // An array element's ledger is in its array's folder: one folder per owner.
        var owners = jobIds.Select(id => RetryLedgerKey.Of(id).OwnerId).Distinct(StringComparer.Ordinal).ToList();
        return "cd -- " + ShellQuoting.Quote(root) + " 2>/dev/null || exit 0; set --; for i in " + ShellQuoting.Join(owners) + "; do "
            + "[ -f \"$i/" + FileRetryLedger.PlanFile + "\" ] && set -- \"$@\" \"$i/" + FileRetryLedger.PlanFile + "\" \"$i\"/" + ClaimGlob + "; done; "
            + "[ $# -eq 0 ] || grep -aH '' -- \"$@\" 2>/dev/null; exit 0";
    }

    // Jobs' claims (retry-attempt-N.json) and array elements' (retry-element-I-attempt-N.json).
    private const string ClaimGlob = "retry-*attempt-*.json";

    /// <summary>Splits <see cref="ReadText"/>'s output into each job's plan and claims.</summary>
    public static IReadOnlyDictionary<string, RetryLedgerEntry> ParseRead(string output, IReadOnlyList<string> jobIds)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(jobIds);
        var texts = new Dictionary<(string Id, string File), StringBuilder>();
        foreach (var line in output.Split('\n'))
        {
            var slash = line.IndexOf('/', StringComparison.Ordinal);
            var colon = slash < 0 ? -1 : line.IndexOf(':', slash);
            if (colon < 0) continue;
            var key = (line[..slash], line[(slash + 1)..colon]);
            if (!texts.TryGetValue(key, out var text)) texts[key] = text = new StringBuilder();
            text.Append(line, colon + 1, line.Length - colon - 1).Append('\n');
        }

        var found = new Dictionary<string, RetryLedgerEntry>(StringComparer.Ordinal);
        foreach (var id in jobIds.Distinct(StringComparer.Ordinal))
        {
            var owner = RetryLedgerKey.Of(id).OwnerId;
            if (!texts.TryGetValue((owner, FileRetryLedger.PlanFile), out var plan)) continue;
            var files = texts.Where(kv => kv.Key.Id == owner).Select(kv => new KeyValuePair<string, string>(kv.Key.File, kv.Value.ToString()));
            found[id] = new RetryLedgerEntry(plan.ToString(), FileRetryLedger.ClaimsOf(id, files));
        }

        return found;
    }

    /// <inheritdoc />
    public async Task WritePlanAsync(string jobId, string plan, CancellationToken cancellationToken) =>
        await RunAsync(jobId, "record the retry plan", ReplaceText(root, RetryLedgerKey.Of(jobId).OwnerId, FileRetryLedger.PlanFile), plan, cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public async Task<IReadOnlyDictionary<string, RetryLedgerEntry>> ReadAsync(IReadOnlyList<string> jobIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jobIds);
        var ids = jobIds.Where(SlurmJobId.IsValid).Distinct(StringComparer.Ordinal).ToList();
        if (ids.Count == 0) return new Dictionary<string, RetryLedgerEntry>(StringComparer.Ordinal);
        var (_, output, _, _) = await connection.ExecAsync(ReadText(root, ids), null, Timeout, retryOnBrokenConnection: true, cancellationToken,
            $"read the retry ledgers of {ids.Count} job{(ids.Count == 1 ? "" : "s")}").ConfigureAwait(false);
        return ParseRead(Encoding.UTF8.GetString(output), ids);
    }

    /// <inheritdoc />
    public async Task<bool> TryClaimAsync(string jobId, int attempt, string claim, CancellationToken cancellationToken)
    {
        var answer = await RunAsync(jobId, $"claim attempt {attempt}", ClaimText(root, RetryLedgerKey.Of(jobId).OwnerId, FileRetryLedger.ClaimFile(jobId, attempt)), claim, cancellationToken).ConfigureAwait(false);
        return answer.Trim() == Won;
    }

    /// <inheritdoc />
    public async Task UpdateClaimAsync(string jobId, int attempt, string claim, CancellationToken cancellationToken) =>
        await RunAsync(jobId, $"record attempt {attempt}", ReplaceText(root, RetryLedgerKey.Of(jobId).OwnerId, FileRetryLedger.ClaimFile(jobId, attempt)), claim, cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public async Task ReleaseClaimAsync(string jobId, int attempt, CancellationToken cancellationToken) =>
        await RunAsync(jobId, $"release attempt {attempt}", Enter(root, RetryLedgerKey.Of(jobId).OwnerId) + "rm -f -- " + ShellQuoting.Quote(FileRetryLedger.ClaimFile(jobId, attempt)), null, cancellationToken).ConfigureAwait(false);

    // The files are inside the job's folder: removing the job removes them.
    /// <inheritdoc />
    public Task RemoveAsync(IReadOnlyList<string> jobIds, CancellationToken cancellationToken) => Task.CompletedTask;

    // umask 077: files 0600; the folder of the job (through its by-id link) must exist.
    private static string Enter(string root, string jobId) =>
        "umask 077; cd -- " + ShellQuoting.Quote(SlurmJobFolder.Join(root, jobId)) + " 2>/dev/null || exit " + NoFolder.ToString(CultureInfo.InvariantCulture) + "; ";

    private async Task<string> RunAsync(string jobId, string operation, string text, string? input, CancellationToken cancellationToken)
    {
        if (!SlurmJobId.IsValid(jobId)) throw new CcatException(CcatErrorId.InvalidJobId, $"'{jobId}' is not a Slurm job id: cannot {operation}.", jobId);
        // Every command here may run twice after a broken connection: a claim is recognised by its text.
        var (code, output, error, _) = await connection.ExecAsync(text, input is null ? null : new UTF8Encoding(false).GetBytes(input), Timeout,
            retryOnBrokenConnection: true, cancellationToken, operation).ConfigureAwait(false);
        if (code == NoFolder) throw new CcatException(CcatErrorId.JobNotFound, $"The folder of job {jobId} is gone on {connection.Settings.Host}: cannot {operation}.", jobId);
        if (code != 0)
        {
            throw new CcatException(CcatErrorId.StoreUnavailable,
                $"The Slurm job directory {root} on {connection.Settings.Host} could not {operation} of job {jobId}: {SlurmCommands.FirstLines(error)}", jobId);
        }

        return Encoding.UTF8.GetString(output);
    }
}
