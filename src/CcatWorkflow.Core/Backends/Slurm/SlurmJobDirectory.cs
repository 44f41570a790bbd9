using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CcatWorkflow.Core.Errors;

namespace CcatWorkflow.Core.Backends.Slurm;

/// <summary>One job's folder as found from its Slurm id.</summary>
/// <param name="JobId">The Slurm job id.</param>
/// <param name="Path">The folder (absolute).</param>
/// <param name="SubmittedAt">When the module submitted it (from the folder's name, to the second).</param>
/// <param name="ArrayIndex">For an element of an array (<c>123_7</c>), its index: the array's folder holds every element's logs.</param>
public sealed record SlurmJobFolder(string JobId, string Path, DateTimeOffset SubmittedAt, int? ArrayIndex = null)
{
    /// <summary>The batch script as submitted.</summary>
    public string ScriptPath => Join(Path, SlurmJobDirectory.ScriptFile);

    /// <summary>The job's (or array element's) standard output.</summary>
    public string StdoutPath => Join(Path, SlurmJobDirectory.StdoutFileOf(ArrayIndex?.ToString(CultureInfo.InvariantCulture)));

    /// <summary>The job's (or array element's) standard error.</summary>
    public string StderrPath => Join(Path, SlurmJobDirectory.StderrFileOf(ArrayIndex?.ToString(CultureInfo.InvariantCulture)));

    /// <summary>The metadata file.</summary>
    public string MetadataPath => Join(Path, SlurmJobDirectory.MetadataFile);

    /// <summary>
    /// Joins a path on the cluster with a name, always with '/': the cluster is POSIX even when
    /// this machine (a Windows workstation over SSH) is not.
    /// </summary>
    public static string Join(string folder, string name) => folder.EndsWith('/') ? folder + name : folder + "/" + name;
}

/// <summary>What the module records about a job next to its script and logs.</summary>
public sealed record SlurmJobMetadata
{
    /// <summary>The module's tag (<see cref="SlurmOptions.Tag"/>).</summary>
    public string Tag { get; init; } = SlurmOptions.Tag;

    /// <summary>The job name as the caller gave it.</summary>
    public string? JobName { get; init; }

    /// <summary>The name Slurm got (sanitised).</summary>
    public string? SlurmJobName { get; init; }

    /// <summary>When the module submitted it (UTC).</summary>
    public DateTimeOffset SubmittedAt { get; init; }

    /// <summary>The image reference, if the caller gave one.</summary>
    public string? ImageRef { get; init; }

    /// <summary>The SIF path, if the caller gave one.</summary>
    public string? SifPath { get; init; }

    /// <summary>The environment variable names given (values are not written: they may be secrets).</summary>
    public IReadOnlyList<string> EnvironmentNames { get; init; } = [];

    /// <summary>For a job array, its index spec (<c>0-99:2</c>); null for a single job.</summary>
    public string? ArrayIndex { get; init; }

    /// <summary>For a job array, the most elements that run at once; null for no limit.</summary>
    public int? ThrottleLimit { get; init; }

    /// <summary>The dependency Slurm was given (<c>afterok:123:124</c>); null for none.</summary>
    public string? Dependency { get; init; }

    /// <summary>The secret environment variable names given (their values are in no file).</summary>
    public IReadOnlyList<string> SecretEnvironmentNames { get; init; } = [];

    /// <summary>CPUs asked for (cpu); null when not asked.</summary>
    public int? Cpu { get; init; }

    /// <summary>Memory asked for in GiB (memory_gb); null when not asked.</summary>
    public double? MemoryGb { get; init; }

    /// <summary>Time limit asked for in hours (time_hours); null when not asked.</summary>
    public double? TimeHours { get; init; }

    /// <summary>GPUs asked for (gpu); null when not asked.</summary>
    public int? Gpu { get; init; }

    /// <summary>The execution command as submitted.</summary>
    public string? Command { get; init; }

    /// <summary>The partition the job was submitted to (-Partition or SLURM_PARTITION); null for the cluster's default.</summary>
    public string? Partition { get; init; }

    /// <summary>The account it was submitted under (-Account or SLURM_ACCOUNT); null for none.</summary>
    public string? Account { get; init; }

    /// <summary>The QOS it asked for (-Qos or SLURM_QOS); null for none.</summary>
    public string? Qos { get; init; }

    /// <summary>The job's own extra sbatch options (-SchedulerOption); null for none.</summary>
    public IReadOnlyList<string>? SchedulerOptions { get; init; }

    /// <summary>For a re-run of an array's failed elements (-RetryFailed), the original array's id; null otherwise.</summary>
    public string? RetryOf { get; init; }
}

/// <summary>
/// The job folders under SLURM_JOB_DIR. A folder is created before submission under a name
/// fixed in advance, <c>&lt;UTC time&gt;-&lt;random&gt;</c>, because Slurm opens <c>--output</c> and
/// <c>--error</c> on the node as the job starts — possibly before sbatch has even returned the
/// id — and never creates directories. After sbatch returns, a symbolic link
/// <c>&lt;SLURM_JOB_DIR&gt;/&lt;job id&gt;</c> → folder makes the job findable by id, so
/// <c>&lt;SLURM_JOB_DIR&gt;/&lt;id&gt;/stdout.log</c> is the log of job id. If sbatch refuses the job,
/// the folder is deleted: nothing looks submitted.
/// </summary>
public sealed class SlurmJobDirectory(string root)
{
    /// <summary>The batch script's file name.</summary>
    public const string ScriptFile = "job.sbatch";

    /// <summary>The standard output file's name.</summary>
    public const string StdoutFile = "stdout.log";

    /// <summary>The standard error file's name.</summary>
    public const string StderrFile = "stderr.log";

    /// <summary>What sbatch replaces with the element's index in an array's log file names.</summary>
    public const string ArrayIndexPattern = "%a";

    /// <summary>The metadata file's name.</summary>
    public const string MetadataFile = "job.json";

    private const string TimeFormat = "yyyyMMdd'T'HHmmss'Z'";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    /// <summary>SLURM_JOB_DIR, absolute.</summary>
    public string Root { get; } = root;

    /// <summary>The standard output file of a job (null index) or of one array element (<c>stdout_7.log</c>).</summary>
    public static string StdoutFileOf(string? index) => index is null ? StdoutFile : $"stdout_{index}.log";

    /// <summary>The standard error file of a job (null index) or of one array element.</summary>
    public static string StderrFileOf(string? index) => index is null ? StderrFile : $"stderr_{index}.log";

    /// <summary>A new folder name for a job submitted at <paramref name="now"/>.</summary>
    public static string NewFolderName(DateTimeOffset now)
    {
        Span<byte> random = stackalloc byte[5];
        RandomNumberGenerator.Fill(random);
        return now.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture) + "-" + Convert.ToHexString(random).ToLowerInvariant();
    }

    /// <summary>The submit time encoded in a folder name; null when the name is not one of ours.</summary>
    public static DateTimeOffset? SubmittedAtOf(string folderName)
    {
        var dash = folderName.IndexOf('-');
        if (dash != 16) return null; // "yyyyMMddTHHmmssZ" is 16 characters
        return DateTime.TryParseExact(folderName[..dash], TimeFormat, CultureInfo.InvariantCulture,
            DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var t)
            ? new DateTimeOffset(t, TimeSpan.Zero)
            : null;
    }

    /// <summary>The absolute path a folder of this name has.</summary>
    public string PathOf(string folderName) => SlurmJobFolder.Join(Root, folderName);

    /// <summary>The metadata as written into the folder (indented JSON).</summary>
    public static string SerializeMetadata(SlurmJobMetadata metadata) => JsonSerializer.Serialize(metadata, Json);

    /// <summary>Metadata from its JSON text; null when there is none or it is unreadable.</summary>
    public static SlurmJobMetadata? ParseMetadata(string? json)
    {
        if (json is null) return null;
        try
        {
            return JsonSerializer.Deserialize<SlurmJobMetadata>(json, Json);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// The folder a by-id link points at, when the link's target is one of the module's folder
    /// names (relative, or absolute under any root); null otherwise.
    /// </summary>
    public SlurmJobFolder? FolderOf(string jobId, string? linkTarget)
    {
        if (string.IsNullOrEmpty(linkTarget)) return null;
        var name = linkTarget.TrimEnd('/');
        name = name[(name.LastIndexOf('/') + 1)..];
        if (SubmittedAtOf(name) is not { } submitted) return null;
        return new SlurmJobFolder(jobId, linkTarget.StartsWith('/') ? linkTarget.TrimEnd('/') : PathOf(name), submitted);
    }

    /// <summary>
    /// Creates the folder and writes the script and the metadata into it (before submission).
    /// A folder that cannot be made is a configuration problem: SLURM_JOB_DIR is named.
    /// </summary>
    public string Prepare(string folderName, string script, SlurmJobMetadata metadata)
    {
        var path = PathOf(folderName);
        try
        {
            // Only the owner may enter the tree: the script and the logs are the user's business.
            if (!Directory.Exists(Root)) CreatePrivateDirectory(Root);
            CreatePrivateDirectory(path);
            WritePrivate(Path.Combine(path, ScriptFile), script);
            WritePrivate(Path.Combine(path, MetadataFile), SerializeMetadata(metadata));
            // Made now, 0600, so that Slurm (which truncates an existing file and keeps its mode)
            // does not create them with the job's umask.
            WritePrivate(Path.Combine(path, StdoutFile), "");
            WritePrivate(Path.Combine(path, StderrFile), "");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            TryDelete(path);
            throw new CcatException(CcatErrorId.InvalidConfiguration,
                $"Cannot write the job folder '{path}' (SLURM_JOB_DIR, default <PIPELINE_BASE_DIR>/.ccat-slurm): {ex.Message}", null, ex);
        }

        return path;
    }

    /// <summary>Mode of the folders the module makes: 0700.</summary>
    public const UnixFileMode PrivateFolder = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>Mode of the files the module writes: 0600.</summary>
    public const UnixFileMode PrivateFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private static void CreatePrivateDirectory(string path)
    {
        if (OperatingSystem.IsWindows()) Directory.CreateDirectory(path);
        else Directory.CreateDirectory(path, PrivateFolder);
    }

    // Created with its mode (no window in which it is readable by others), never over an existing file.
    private static void WritePrivate(string path, string text)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = PrivateFile;
        using var fs = new FileStream(path, options);
        var bytes = new UTF8Encoding(false).GetBytes(text);
        fs.Write(bytes);
    }

    /// <summary>
    /// Points <c>&lt;root&gt;/&lt;jobId&gt;</c> at the folder (a relative link, so the tree can be
    /// mounted elsewhere). An old link of the same id — ids restart after a cluster
    /// reinstall — is replaced.
    /// </summary>
    public void Link(string jobId, string folderName)
    {
        var link = Path.Combine(Root, jobId);
        try
        {
            File.CreateSymbolicLink(link, folderName);
        }
        catch (IOException) when (new FileInfo(link).LinkTarget is not null)
        {
            File.Delete(link);
            File.CreateSymbolicLink(link, folderName);
        }
    }

    /// <summary>The folder of job <paramref name="jobId"/>, or null when the module did not submit it (here).</summary>
    public SlurmJobFolder? Find(string jobId)
    {
        // An array element lives in its array's folder: the link is the array's id.
        if (Arrays.ArrayElementId.TryParse(jobId, out var arrayId, out var index))
        {
            return Find(arrayId) is { } array ? array with { JobId = jobId, ArrayIndex = index } : null;
        }

        string? target;
        try
        {
            target = new FileInfo(Path.Combine(Root, jobId)).LinkTarget;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        return FolderOf(jobId, target);
    }

    /// <summary>Reads a job's metadata; null when it is missing or unreadable.</summary>
    public static SlurmJobMetadata? ReadMetadata(SlurmJobFolder folder)
    {
        try
        {
            return JsonSerializer.Deserialize<SlurmJobMetadata>(File.ReadAllText(Path.Combine(folder.Path, MetadataFile)), Json);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException)
        {
            return null;
        }
    }

    /// <summary>True when a job.json text carries the module's tag as written (read raw: the metadata type defaults it).</summary>
    public static bool CarriesTag(string? metadataText)
    {
        if (metadataText is null) return false;
        try
        {
            using var doc = JsonDocument.Parse(metadataText);
            return doc.RootElement.ValueKind == JsonValueKind.Object
                && doc.RootElement.TryGetProperty("tag", out var tag) && tag.ValueKind == JsonValueKind.String
                && tag.GetString() == SlurmOptions.Tag;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>Deletes a folder that was prepared for a submission that did not happen.</summary>
    public static void TryDelete(string path)
    {
        try
        {
            if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort: without the id link nothing refers to the folder.
        }
    }
}
