using System.Collections;
using System.Text.Json;
using CcatWorkflow.Core.Configuration;
using CcatWorkflow.Core.Errors;
using CcatWorkflow.Core.Tests.Local;

namespace CcatWorkflow.Core.Tests.Contract;

/// <summary>
/// Settings read as the real Dynaconf 3.1.7 reads them: each case of tests/dynaconf/cases.json
/// against Dynaconf's own answers, recorded by tests/dynaconf/record.sh (no Python here).
/// </summary>
public sealed class DynaconfRecordedTests : IDisposable
{
    private static readonly string Folder = Path.Combine(TestInfra.RepositoryRoot, "tests", "dynaconf");
    private readonly string _dir = Directory.CreateTempSubdirectory("ccat-dynaconf-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder, "cases.json")));
        foreach (var c in doc.RootElement.EnumerateArray()) data.Add(c.GetProperty("name").GetString()!);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Values_have_the_type_and_value_Dynaconf_gives(string name)
    {
        using var cases = JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder, "cases.json")));
        using var recorded = JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder, "recorded.json")));
        Assert.Equal("3.1.7", recorded.RootElement.GetProperty("dynaconf").GetString());
        var c = cases.RootElement.EnumerateArray().Single(x => x.GetProperty("name").GetString() == name);
        var expected = recorded.RootElement.GetProperty("cases").EnumerateArray().Single(x => x.GetProperty("name").GetString() == name).GetProperty("values");

        var env = new Dictionary<string, string> { ["HOME"] = _dir, ["XDG_CONFIG_HOME"] = Path.Combine(_dir, "config") };
        if (c.TryGetProperty("files", out var files))
        {
            foreach (var f in files.EnumerateObject()) File.WriteAllText(Path.Combine(_dir, f.Name), f.Value.GetString());
        }

        foreach (var v in c.GetProperty("env").EnumerateObject()) env[v.Name] = v.Value.GetString()!;
        var settings = SettingsLoader.Load(env, _dir);

        foreach (var key in expected.EnumerateObject())
        {
            var actual = SettingsSchema.Find(key.Name) is not null
                ? settings[key.Name].AsRead
                : settings.Unknown.Single(u => u.Name == key.Name).Value;
            AssertSame(key.Value, DynaconfValue.ToPlain(actual), key.Name);
        }
    }

    private static void AssertSame(JsonElement expected, object? actual, string path)
    {
        var type = expected.GetProperty("type").GetString();
        var value = expected.GetProperty("value");
        switch (type)
        {
            case "none": Assert.Null(actual); break;
            case "bool": Assert.Equal(value.GetBoolean(), Assert.IsType<bool>(actual)); break;
            case "int": Assert.Equal(value.GetInt64(), Assert.IsType<long>(actual)); break;
            case "float": Assert.Equal(value.GetDouble(), Assert.IsType<double>(actual)); break;
            case "str": Assert.Equal(value.GetString(), Assert.IsType<string>(actual)); break;
            case "list":
                var items = Assert.IsType<object?[]>(actual);
                var want = value.EnumerateArray().ToList();
                Assert.Equal(want.Count, items.Length);
                for (var i = 0; i < want.Count; i++) AssertSame(want[i], items[i], $"{path}[{i}]");
                break;
            case "dict":
                var table = Assert.IsAssignableFrom<IDictionary>(actual);
                var keys = value.EnumerateObject().ToList();
                Assert.Equal(keys.Count, table.Count);
                foreach (var k in keys) AssertSame(k.Value, table[k.Name], $"{path}.{k.Name}");
                break;
            default: Assert.Fail($"{path}: unexpected recorded type {type}"); break;
        }
    }

    [Theory]
    [InlineData("@format {this.HOME}")]
    [InlineData("@jinja {{ this.HOME }}")]
    [InlineData("@merge [1]")]
    [InlineData("@integer 5")]
    [InlineData("@int seven")]
    public void Tokens_the_module_cannot_evaluate_are_refused_clearly(string raw)
    {
        var e = Assert.Throws<CcatException>(() => SettingsLoader.Load(new Dictionary<string, string>
        {
            ["HOME"] = _dir, ["XDG_CONFIG_HOME"] = _dir, ["CCAT_WORKFLOW_MANAGER_REDIS_PORT"] = raw,
        }, _dir));
        Assert.Equal(CcatErrorId.InvalidConfiguration, e.ErrorId);
        Assert.Contains("CCAT_WORKFLOW_MANAGER_REDIS_PORT", e.Message, StringComparison.Ordinal);
        Assert.Contains(raw, e.Message, StringComparison.Ordinal);
    }
}
