using System.Security.Cryptography;
using System.Text;
using CcatWorkflow.Core.Backends.Slurm.Ssh;

namespace CcatWorkflow.Core.Tests.Slurm;

public sealed class KnownHostsTests
{
    private static readonly byte[] Key = Encoding.ASCII.GetBytes("\0\0\0\vssh-ed25519 key-one");
    private static readonly byte[] Other = Encoding.ASCII.GetBytes("\0\0\0\vssh-ed25519 key-two");

    private static string Line(string hosts, byte[] key) => $"{hosts} ssh-ed25519 {Convert.ToBase64String(key)}";

    [Fact]
    public void The_pinned_key_of_a_port_22_host_is_trusted_and_another_key_is_changed()
    {
        var text = "# comment\n\n" + Line("login.example.org,10.0.0.5", Key) + "\n";
        Assert.Equal(HostKeyVerdict.Trusted, KnownHosts.Check(text, "login.example.org", 22, Key));
        Assert.Equal(HostKeyVerdict.Trusted, KnownHosts.Check(text, "10.0.0.5", 22, Key));
        Assert.Equal(HostKeyVerdict.Changed, KnownHosts.Check(text, "login.example.org", 22, Other));
    }

    [Fact]
    public void A_host_on_another_port_is_written_in_brackets_and_the_plain_name_does_not_match_it()
    {
        var text = Line("[127.0.0.1]:2222", Key);
        Assert.Equal(HostKeyVerdict.Trusted, KnownHosts.Check(text, "127.0.0.1", 2222, Key));
        Assert.Equal(HostKeyVerdict.Unknown, KnownHosts.Check(text, "127.0.0.1", 22, Key));
        Assert.Equal(HostKeyVerdict.Unknown, KnownHosts.Check(Line("127.0.0.1", Key), "127.0.0.1", 2222, Key));
    }

    [Fact]
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA5350:Do Not Use Weak Cryptographic Algorithms",
        Justification = "Writes a line in OpenSSH's hashed known_hosts format, which is HMAC-SHA1.")]
    public void Hashed_host_names_are_matched_with_their_salt()
    {
        var salt = RandomNumberGenerator.GetBytes(20);
        using var hmac = new HMACSHA1(salt);
        var hashed = $"|1|{Convert.ToBase64String(salt)}|{Convert.ToBase64String(hmac.ComputeHash(Encoding.UTF8.GetBytes("[login]:2200")))}";
        var text = Line(hashed, Key);
        Assert.Equal(HostKeyVerdict.Trusted, KnownHosts.Check(text, "login", 2200, Key));
        Assert.Equal(HostKeyVerdict.Changed, KnownHosts.Check(text, "login", 2200, Other));
        Assert.Equal(HostKeyVerdict.Unknown, KnownHosts.Check(text, "other", 2200, Key));
    }

    [Fact]
    public void A_revoked_key_is_never_trusted_and_cert_authority_lines_are_ignored()
    {
        var text = "@revoked " + Line("login", Key) + "\n" + Line("login", Key) + "\n@cert-authority " + Line("other", Key);
        Assert.Equal(HostKeyVerdict.Changed, KnownHosts.Check(text, "login", 22, Key));
        Assert.Equal(HostKeyVerdict.Unknown, KnownHosts.Check(text, "other", 22, Key));
    }

    [Fact]
    public void A_negated_pattern_excludes_the_host()
    {
        Assert.Equal(HostKeyVerdict.Unknown, KnownHosts.Check(Line("login,!login", Key), "login", 22, Key));
    }
}
