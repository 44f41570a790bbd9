using System.Collections;
using CcatWorkflow.Core.Errors;
using CcatWorkflow.Core.Submission;

namespace CcatWorkflow.Core.Tests.Contract;

public class ResourceRequirementsTests
{
    [Fact]
    public void The_seed_example_maps_to_typed_values()
    {
        var r = ResourceRequirements.FromDictionary(new Hashtable { ["cpu"] = 4, ["memory_gb"] = 16, ["time_hours"] = 2 });
        Assert.Equal(new ResourceRequirements(4, 16, 2, null), r);
    }

    [Fact]
    public void Keys_are_case_insensitive_and_numeric_strings_are_numbers()
    {
        var r = ResourceRequirements.FromDictionary(new Hashtable { ["CPU"] = "2", ["Memory_GB"] = "1.5", ["gpu"] = 1L });
        Assert.Equal(new ResourceRequirements(2, 1.5, null, 1), r);
    }

    [Fact]
    public void No_dictionary_means_no_request()
    {
        Assert.Same(ResourceRequirements.None, ResourceRequirements.FromDictionary(null));
        Assert.Same(ResourceRequirements.None, ResourceRequirements.FromDictionary(new Hashtable()));
    }

    [Theory]
    [InlineData("cores", 4, "Unknown resource requirement 'cores'")]
    [InlineData("cpu", 0, "'cpu' must be greater than zero")]
    [InlineData("cpu", -2, "'cpu' must be greater than zero")]
    [InlineData("cpu", 2.5, "'cpu' must be a whole number")]
    [InlineData("cpu", 100000, "'cpu' is 100000, more than")]
    [InlineData("memory_gb", double.NaN, "'memory_gb' must be a finite number")]
    [InlineData("memory_gb", double.PositiveInfinity, "'memory_gb' must be a finite number")]
    [InlineData("memory_gb", 1e9, "'memory_gb' is 1000000000, more than")]
    [InlineData("time_hours", -1, "'time_hours' must be greater than zero")]
    [InlineData("time_hours", "two", "'time_hours' must be a number, not 'two'")]
    [InlineData("gpu", true, "'gpu' must be a number, not the boolean")]
    [InlineData("gpu", null, "'gpu' has no value")]
    public void Impossible_values_are_refused_naming_the_key(string key, object? value, string expected)
    {
        var ex = Assert.Throws<CcatException>(() => ResourceRequirements.FromDictionary(new Hashtable { [key] = value }));
        Assert.Equal(CcatErrorId.InvalidResourceRequirement, ex.ErrorId);
        Assert.Contains(expected, ex.Message);
    }

    [Fact]
    public void A_key_given_twice_in_different_case_is_refused()
    {
        var d = new Dictionary<string, object> { ["cpu"] = 1, ["CPU"] = 2 };
        var ex = Assert.Throws<CcatException>(() => ResourceRequirements.FromDictionary(d));
        Assert.Contains("given twice", ex.Message);
    }

    [Fact]
    public void Non_numeric_objects_are_refused()
    {
        var ex = Assert.Throws<CcatException>(() => ResourceRequirements.FromDictionary(new Hashtable { ["cpu"] = new object[] { 1 } }));
        Assert.Contains("must be a number", ex.Message);
    }
}
