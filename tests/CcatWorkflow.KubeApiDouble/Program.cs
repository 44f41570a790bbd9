using System.Net;
using System.Net.Sockets;
using CcatWorkflow.KubeApiDouble;

// Console mode for Pester and manual use:
//   dotnet CcatWorkflow.KubeApiDouble.dll --state-dir DIR [--https] [--token T] [--mode run|manual]
//       [--manual-namespaces a,b] [--port N]
// Writes into DIR: kubeconfig (server, certificate-authority-data, token), url, pid, ca.crt, and
// three broken variants for error tests: kubeconfig-wrong-token (401), kubeconfig-no-ca (TLS
// failure), kubeconfig-refused (a port nobody listens on). Stops on SIGTERM or Ctrl+C.
string? stateDir = null;
var options = new KubeApiDoubleOptions { Mode = PodMode.Run };
for (var i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
    switch (args[i])
    {
        case "--state-dir": stateDir = Next(); break;
        case "--https": options = options with { Https = true }; break;
        case "--token": options = options with { Token = Next() }; break;
        case "--mode":
            options = options with { Mode = Next().ToLowerInvariant() switch { "run" => PodMode.Run, "manual" => PodMode.Manual, var m => throw new ArgumentException($"unknown mode {m}") } };
            break;
        case "--manual-namespaces": options = options with { ManualNamespaces = Next().Split(',', StringSplitOptions.RemoveEmptyEntries).ToHashSet() }; break;
        case "--port": options = options with { Port = int.Parse(Next(), System.Globalization.CultureInfo.InvariantCulture) }; break;
        case "-h" or "--help":
            Console.WriteLine("kube-api-double --state-dir DIR [--https] [--token T] [--mode run|manual] [--manual-namespaces a,b] [--port N]");
            return 0;
        default:
            Console.Error.WriteLine($"unknown argument {args[i]}");
            return 2;
    }
}

if (stateDir is null)
{
    Console.Error.WriteLine("--state-dir is required");
    return 2;
}

Directory.CreateDirectory(stateDir);
await using var server = await KubeApiDouble.StartAsync(options);

static int FreePort()
{
    using var l = new TcpListener(IPAddress.Loopback, 0);
    l.Start();
    return ((IPEndPoint)l.LocalEndpoint).Port;
}

void Write(string name, string text)
{
    var path = Path.Combine(stateDir, name);
    File.WriteAllText(path + ".tmp", text);
    File.Move(path + ".tmp", path, overwrite: true); // readers never see half a file
}

var refused = new UriBuilder(server.Uri) { Port = FreePort() }.Uri;
Write("kubeconfig-wrong-token", server.Kubeconfig(token: "wrong-token"));
Write("kubeconfig-no-ca", server.Kubeconfig(includeCa: false));
Write("kubeconfig-refused", server.Kubeconfig(server: refused));
if (server.CaPem is not null) Write("ca.crt", server.CaPem);
Write("url", server.Uri.ToString());
Write("kubeconfig", server.Kubeconfig());
Write("pid", Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
Console.WriteLine($"kube-api-double listening on {server.Uri} (mode {options.Mode}, https {options.Https})");

await server.WaitForShutdownAsync();
File.Delete(Path.Combine(stateDir, "pid"));
return 0;
