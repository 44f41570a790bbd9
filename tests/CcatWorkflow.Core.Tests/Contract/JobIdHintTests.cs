using CcatWorkflow.Core.Errors;

namespace CcatWorkflow.Core.Tests.Contract;

public class JobIdHintTests
{
    [Theory]
    [InlineData("0f8c6a1e-2b7d-4c1a-9e53-6d2f1a7b8c90", "Local")]
    [InlineData("123456", "Slurm")]
    [InlineData("123456_7", "Slurm")]
    [InlineData("calib-scan-7xk2p", "Kubernetes")]
    public void An_id_is_recognised_by_its_form(string id, string expected) =>
        Assert.Equal(HPCBackendKind.Parse(expected), JobIdHint.LikelyBackend(id));

    [Theory]
    [InlineData("Not_An_Id!")]
    [InlineData("")]
    [InlineData(null)]
    public void An_id_of_no_known_form_gets_no_backend(string? id) => Assert.Null(JobIdHint.LikelyBackend(id));

    [Fact]
    public void The_hint_names_the_other_backend_and_never_the_one_that_refused()
    {
        Assert.Equal(" It looks like a Slurm job id: add -Backend Slurm.", JobIdHint.For("123456", HPCBackendKind.Local));
        Assert.Equal("", JobIdHint.For("123456", HPCBackendKind.Slurm));
        Assert.Equal("", JobIdHint.For("Not_An_Id!", null));
    }
}
