using System.Text;
using CcatWorkflow.Core.Errors;
using CcatWorkflow.Core.Logs;

namespace CcatWorkflow.Core.Tests.Shared;

public sealed class LogTextTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "ccat-logtext-" + Guid.NewGuid().ToString("N")[..10]);

    public LogTextTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string text)
    {
        var path = Path.Combine(_dir, Guid.NewGuid().ToString("N"));
        File.WriteAllText(path, text, new UTF8Encoding(false));
        return path;
    }

    [Theory]
    [InlineData("a\nb\nc\n", 2, "b\nc\n")]
    [InlineData("a\nb\nc", 2, "b\nc")]
    [InlineData("a\nb\nc\n", 5, "a\nb\nc\n")]
    [InlineData("a\nb\nc\n", 0, "")]
    [InlineData("", 3, "")]
    [InlineData("\n\n\n", 2, "\n\n")]
    [InlineData("only", 1, "only")]
    public async Task Tail_keeps_the_last_lines_the_same_way_for_text_and_files(string text, int n, string expected)
    {
        Assert.Equal(expected, LogText.TailLines(text, n));
        Assert.Equal(expected, await LogText.ReadFileAsync(Write(text), n, default));
    }

    [Fact]
    public async Task A_missing_file_reads_as_empty() =>
        Assert.Equal("", await LogText.ReadFileAsync(Path.Combine(_dir, "missing.log"), 10, default));

    [Fact]
    public async Task The_whole_file_is_read_without_a_tail_and_a_BOM_is_dropped()
    {
        var path = Path.Combine(_dir, "bom.log");
        File.WriteAllText(path, "x\ny\n", new UTF8Encoding(true));

        Assert.Equal("x\ny\n", await LogText.ReadFileAsync(path, null, default));
    }

    [Fact]
    public async Task Tails_across_block_boundaries_and_multibyte_characters_match_the_in_memory_tail()
    {
        var rng = new Random(12345);
        var sb = new StringBuilder();
        for (var i = 0; i < 3000; i++)
        {
            sb.Append(i).Append(':').Append(new string('é', rng.Next(0, 120))).Append("日本🙂").Append('\n');
        }

        var text = sb.ToString();
        var path = Write(text);
        foreach (var n in new[] { 1, 2, 7, 100, 999, 2999, 3000, 5000 })
        {
            Assert.Equal(LogText.TailLines(text, n), await LogText.ReadFileAsync(path, n, default));
        }
    }

    [Fact]
    public async Task A_tail_of_an_8_GiB_log_reads_only_its_end()
    {
        // Sparse: 8 GiB of zero bytes (no newline) and then three lines. Reading it whole would
        // need 8 GiB; the tail needs one block.
        var path = Path.Combine(_dir, "huge.log");
        using (var fs = new FileStream(path, FileMode.CreateNew))
        {
            fs.SetLength(8L * 1024 * 1024 * 1024);
            fs.Seek(0, SeekOrigin.End);
            fs.Write("one\ntwo\nthree\n"u8);
        }

        Assert.Equal("two\nthree\n", await LogText.ReadFileAsync(path, 2, default));
        var e = await Assert.ThrowsAsync<CcatException>(() => LogText.ReadFileAsync(path, null, default));
        Assert.Equal(CcatErrorId.LogUnavailable, e.ErrorId);
    }

    [Fact]
    public async Task The_tail_start_offset_is_a_byte_position_on_a_line_start()
    {
        var path = Write("ab\nçd\nef\n");
        await using var fs = new FileStream(path, FileMode.Open, FileAccess.Read);

        Assert.Equal(3, await LogText.FindTailStartAsync(fs, fs.Length, 2, default));
        Assert.Equal(0, await LogText.FindTailStartAsync(fs, fs.Length, 3, default));
        Assert.Equal(fs.Length, await LogText.FindTailStartAsync(fs, fs.Length, 0, default));
    }
}
