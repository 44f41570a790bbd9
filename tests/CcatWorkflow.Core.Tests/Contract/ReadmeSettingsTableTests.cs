using CcatWorkflow.Core.Configuration;
using CcatWorkflow.Core.Tests.Local;

namespace CcatWorkflow.Core.Tests.Contract;

/// <summary>The README's settings table is the one the definitions make.</summary>
public sealed class ReadmeSettingsTableTests
{
    private const string Begin = "<!-- settings-table:begin -->\n";
    private const string End = "<!-- settings-table:end -->";

    [Fact]
    public void The_README_settings_table_is_generated_from_the_definitions()
    {
        var readme = File.ReadAllText(Path.Combine(TestInfra.RepositoryRoot, "README.md")).Replace("\r\n", "\n", StringComparison.Ordinal);
        var start = readme.IndexOf(Begin, StringComparison.Ordinal);
        var end = readme.IndexOf(End, StringComparison.Ordinal);
        Assert.True(start >= 0 && end > start, "README.md lacks the settings-table markers");
        var table = readme[(start + Begin.Length)..end];
        var expected = SettingsSchema.MarkdownTable();
        Assert.True(expected == table, "README.md's settings table is stale; put this between the markers:\n" + expected);
    }
}
