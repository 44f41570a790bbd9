using CcatWorkflow.Core.Backends.Slurm;

namespace CcatWorkflow.Core.Tests.Slurm;

public class SlurmMemoryTests
{
    [Theory]
    [InlineData(16, "16G")]
    [InlineData(1, "1G")]
    [InlineData(0.5, "512M")]
    [InlineData(1.5, "1536M")]
    [InlineData(1.3, "1332M")]          // 1331.2 MB rounded up to whole megabytes
    [InlineData(0.0001, "1M")]
    [InlineData(2.0000000001, "2G")]
    public void Formats_mem(double gb, string expected) => Assert.Equal(expected, SlurmMemory.FormatMem(gb));

    [Theory]
    [InlineData("221232K", 221232L * 1024)]
    [InlineData("312084K", 312084L * 1024)]
    [InlineData("1.50G", 1610612736L)]
    [InlineData("512.25M", 537133056L)]
    [InlineData("1T", 1099511627776L)]
    [InlineData("2P", 2251799813685248L)]
    [InlineData("1048576", 1048576L)]
    [InlineData("0", 0L)]
    [InlineData("3208k", 3208L * 1024)]
    public void Parses_sizes_in_binary_units(string text, long bytes) => Assert.Equal(bytes, SlurmMemory.ParseBytes(text));

    [Theory]
    [InlineData("")]
    [InlineData(null)]
    [InlineData("  ")]
    [InlineData("abc")]
    [InlineData("12X")]
    public void Nothing_recorded_is_null(string? text) => Assert.Null(SlurmMemory.ParseBytes(text));
}
