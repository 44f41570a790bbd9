using CcatWorkflow.Core.Execution;

namespace CcatWorkflow.Core.Tests.Shared;

public sealed class ShellQuotingTests
{
    public static TheoryData<string, string> HostileWords()
    {
        string[] words =
        [
            "", " ", "plain", "two words", "it's", "'", "''", "'\\''", "\"double\"", "$HOME", "${HOME}", "$(id)", "`id`",
            "back\\slash", "\\", "trailing\\", "new\nline", "\n", "tab\there", "semi;colon", "a&b|c", "<in >out", "*", "?", "[a-z]",
            "~", "~root", "#not a comment", "!bang", "{a,b}", "A=b", "-n", "--", "if", "then", "time", "ünïcødé ✓ 日本語 🙂",
            "$'\\x41'", "%s%n", "a\rb", "\u00a0nbsp",
        ];
        var data = new TheoryData<string, string>();
        foreach (var shell in new[] { "/bin/sh", "/bin/bash" })
        {
            foreach (var w in words) data.Add(shell, w);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(HostileWords))]
    public void A_quoted_word_reaches_the_program_exactly(string shell, string word)
    {
        var r = ShellRun.Run(shell, "printf '%s' " + ShellQuoting.Quote(word));

        Assert.Equal(0, r.ExitCode);
        Assert.Equal(word, r.Stdout);
    }

    [Theory]
    [MemberData(nameof(HostileWords))]
    public void A_quoted_value_round_trips_through_export(string shell, string word)
    {
        var r = ShellRun.Run(shell, "export X=" + ShellQuoting.Quote(word) + "; printf '%s' \"$X\"");

        Assert.Equal(word, r.Stdout);
    }

    [Fact]
    public void A_joined_argv_is_the_same_argv_after_the_shell_splits_it()
    {
        string[] argv = ["printf", "%s\\0", "a b", "", "it's", "$x", "new\nline", "A=b"];

        var r = ShellRun.Run("/bin/sh", ShellQuoting.Join(argv));

        Assert.Equal(argv[2..], r.Stdout.Split('\0')[..^1]);
    }

    [Theory]
    [InlineData("A=b")]
    [InlineData("if")]
    [InlineData("done")]
    public void A_word_in_command_position_is_a_command_not_syntax(string word)
    {
        // Unquoted, A=b would be an assignment (exit 0) and "if" a syntax error (exit 2).
        var r = ShellRun.Run("/bin/sh", ShellQuoting.Join([word]));

        Assert.Equal(127, r.ExitCode);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("/usr/bin/apptainer")]
    [InlineData("--bind")]
    [InlineData("/data/in:/workflow/input:ro")]
    [InlineData("user@host")]
    [InlineData("a,b+c%d")]
    public void Plain_words_stay_bare_for_readable_scripts(string word) => Assert.Equal(word, ShellQuoting.Quote(word));

    [Theory]
    [InlineData("--bind=x", "'--bind=x'")]
    [InlineData("it's", "'it'\\''s'")]
    [InlineData("", "''")]
    public void Other_words_are_single_quoted(string word, string quoted) => Assert.Equal(quoted, ShellQuoting.Quote(word));

    [Fact]
    public void NUL_cannot_be_quoted() => Assert.Throws<ArgumentException>(() => ShellQuoting.Quote("a\0b"));

    [Theory]
    [InlineData("X", true)]
    [InlineData("_x1", true)]
    [InlineData("1x", false)]
    [InlineData("a-b", false)]
    [InlineData("", false)]
    [InlineData("ü", false)]
    public void Shell_identifiers_are_recognised(string name, bool ok) => Assert.Equal(ok, ShellQuoting.IsShellIdentifier(name));
}
