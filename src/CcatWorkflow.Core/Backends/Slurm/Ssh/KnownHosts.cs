using System.Security.Cryptography;
using System.Text;

namespace CcatWorkflow.Core.Backends.Slurm.Ssh;

/// <summary>What a known_hosts file says about a host key.</summary>
public enum HostKeyVerdict
{
    /// <summary>The file holds this key for this host.</summary>
    Trusted,
    /// <summary>The file holds no key for this host.</summary>
    Unknown,
    /// <summary>The file holds other keys for this host (or marks this one revoked).</summary>
    Changed,
}

/// <summary>
/// OpenSSH's known_hosts format, as far as pinning needs it: plain and hashed (<c>|1|salt|hash</c>)
/// host names, <c>[host]:port</c> for ports other than 22, comma-separated patterns, and
/// <c>@revoked</c>. Wildcard patterns and <c>@cert-authority</c> lines are not trusted (ignored).
/// </summary>
public static class KnownHosts
{
    /// <summary>Checks <paramref name="keyBlob"/> (the key in SSH wire form) for <paramref name="host"/>:<paramref name="port"/> against the file's text.</summary>
    public static HostKeyVerdict Check(string knownHostsText, string host, int port, byte[] keyBlob)
    {
        ArgumentNullException.ThrowIfNull(knownHostsText);
        ArgumentNullException.ThrowIfNull(keyBlob);
        var name = port == 22 ? host : $"[{host}]:{port}";
        var sawHost = false;
        foreach (var raw in knownHostsText.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            var fields = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            var revoked = false;
            if (fields[0].StartsWith('@'))
            {
                if (fields[0] != "@revoked") continue;
                revoked = true;
                fields = fields[1..];
            }

            if (fields.Length < 3 || !Matches(fields[0], name)) continue;
            byte[] blob;
            try
            {
                blob = Convert.FromBase64String(fields[2]);
            }
            catch (FormatException)
            {
                continue;
            }

            var same = blob.AsSpan().SequenceEqual(keyBlob);
            if (revoked && same) return HostKeyVerdict.Changed;
            if (revoked) continue;
            if (same) return HostKeyVerdict.Trusted;
            sawHost = true;
        }

        return sawHost ? HostKeyVerdict.Changed : HostKeyVerdict.Unknown;
    }

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA5350:Do Not Use Weak Cryptographic Algorithms",
        Justification = "OpenSSH's hashed known_hosts format (|1|salt|hash) is HMAC-SHA1 by definition; it is read, not chosen.")]
    private static bool Matches(string patterns, string name)
    {
        if (patterns.StartsWith("|1|", StringComparison.Ordinal))
        {
            var parts = patterns.Split('|');
            if (parts.Length != 4) return false;
            try
            {
                using var hmac = new HMACSHA1(Convert.FromBase64String(parts[2]));
                return CryptographicOperations.FixedTimeEquals(hmac.ComputeHash(Encoding.UTF8.GetBytes(name)), Convert.FromBase64String(parts[3]));
            }
            catch (FormatException)
            {
                return false;
            }
        }

        var matched = false;
        foreach (var p in patterns.Split(','))
        {
            if (p.StartsWith('!') && string.Equals(p[1..], name, StringComparison.OrdinalIgnoreCase)) return false;
            if (string.Equals(p, name, StringComparison.OrdinalIgnoreCase)) matched = true;
        }

        return matched;
    }
}
