using System.Collections;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using CcatWorkflow.Core.Backends.Local;
using CcatWorkflow.Core.Configuration;
using CcatWorkflow.Core.Errors;
using CcatWorkflow.Core.Logs;
using CcatWorkflow.Core.Submission;

namespace CcatWorkflow.LocalRunner;

/// <summary>
/// The <c>ctl</c> verbs: submit, status, wait, cancel, logs and list on the Local backend,
/// with the module's settings (settings.toml, CCAT_WORKFLOW_MANAGER_* variables). Job infos
/// are printed as JSON, one per line; errors as <c>ErrorId: message</c> on stderr (exit 1).
/// </summary>
internal static class ControlCommands
{

    public static int Run(string[] args)
    {
        try
        {
            return RunAsync(args).GetAwaiter().GetResult();
        }
        catch (CcatException e)
        {
            Console.Error.WriteLine($"{e.ErrorId}: {e.Message}");
            return 1;
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"usage: {e.Message}");
            return 2;
        }
    }

    private static async Task<int> RunAsync(string[] args)
    {
        if (args.Length == 0) throw new ArgumentException("a verb is required");
        var verb = args[0];
        var rest = args[1..];
        await using var backend = LocalBackend.Create(SettingsLoader.Load());
        using var cts = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cts.Cancel();
        };
        var ct = cts.Token;
        switch (verb)
        {
            case "submit":
            case "describe":
            {
                var name = "ccat-job";
                var env = new Hashtable();
                var i = 0;
                for (; i < rest.Length && rest[i] != "--"; i++)
                {
                    switch (rest[i])
                    {
                        case "--name" when i + 1 < rest.Length:
                            name = rest[++i];
                            break;
                        case "--env" when i + 1 < rest.Length && rest[i + 1].Contains('='):
                            var kv = rest[++i];
                            env[kv[..kv.IndexOf('=')]] = kv[(kv.IndexOf('=') + 1)..];
                            break;
                        default:
                            throw new ArgumentException($"unknown submit option '{rest[i]}'");
                    }
                }

                if (i + 1 >= rest.Length) throw new ArgumentException($"{verb} needs -- <command>");
                var submission = new JobSubmission
                {
                    ExecutionCommand = string.Join(' ', rest[(i + 1)..]),
                    JobName = name,
                    Environment = JobSubmission.ValidateEnvironment(env),
                };
                Console.WriteLine(verb == "describe"
                    ? backend.DescribeSubmission(submission).TrimEnd('\n')
                    : await backend.SubmitJobAsync(submission, ct));
                return 0;
            }

            case "status":
            {
                var failed = false;
                foreach (var r in await backend.QueryJobsAsync(Ids(rest), ct))
                {
                    if (r.Info is { } info)
                    {
                        Console.WriteLine(JsonSerializer.Serialize(info, ControlJson.Default.HPCJobInfo));
                    }
                    else
                    {
                        failed = true;
                        Console.Error.WriteLine($"{r.Error!.ErrorId}: {r.Error.Message}");
                    }
                }

                return failed ? 1 : 0;
            }

            case "wait":
            {
                var timeout = Option(rest, "--timeout") is { } t ? TimeSpan.FromSeconds(double.Parse(t, CultureInfo.InvariantCulture)) : Timeout.InfiniteTimeSpan;
                var deadline = timeout == Timeout.InfiniteTimeSpan ? DateTime.MaxValue : DateTime.UtcNow + timeout;
                foreach (var id in Ids(rest))
                {
                    while (true)
                    {
                        var info = await backend.GetStatusAsync(id, ct);
                        if (info.IsFinished)
                        {
                            Console.WriteLine(JsonSerializer.Serialize(info, ControlJson.Default.HPCJobInfo));
                            break;
                        }

                        if (DateTime.UtcNow >= deadline)
                        {
                            throw new CcatException(CcatErrorId.WaitTimeout, $"Job {id} is still {info.Status}.", id);
                        }

                        await Task.Delay(200, ct);
                    }
                }

                return 0;
            }

            case "cancel":
                foreach (var r in await backend.CancelJobsAsync(Ids(rest), ct))
                {
                    if (r.Error is { } e) throw e;
                }

                return 0;

            case "logs":
            {
                var tail = Option(rest, "--tail") is { } n ? int.Parse(n, CultureInfo.InvariantCulture) : (int?)null;
                var stream = Option(rest, "--stream") switch
                {
                    null or "all" => LogStream.All,
                    "output" => LogStream.Output,
                    "error" => LogStream.Error,
                    var s => throw new ArgumentException($"unknown stream '{s}'"),
                };
                Console.Write(await backend.ReadLogsAsync(Ids(rest).Single(), new LogQuery(stream, tail), ct));
                return 0;
            }

            case "list":
                foreach (var info in await backend.ListAsync(ct))
                {
                    Console.WriteLine(JsonSerializer.Serialize(info, ControlJson.Default.HPCJobInfo));
                }

                return 0;

            default:
                throw new ArgumentException($"unknown verb '{verb}'");
        }
    }

    private static string[] Ids(string[] args)
    {
        var ids = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i].StartsWith("--", StringComparison.Ordinal))
            {
                i++; // skip the option's value
                continue;
            }

            ids.Add(args[i]);
        }

        return ids.Count > 0 ? ids.ToArray() : throw new ArgumentException("a job id is required");
    }

    private static string? Option(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}

/// <summary>How <c>ctl</c> prints job infos: enums as names, nulls left out (source-generated for Native AOT).</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, UseStringEnumConverter = true)]
[JsonSerializable(typeof(HPCJobInfo))]
internal sealed partial class ControlJson : JsonSerializerContext;
