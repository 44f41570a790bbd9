namespace CcatWorkflow.Core.Tests.Local;

/// <summary>The apptainer stand-in of tests/infra/apptainer/start.sh (bubblewrap underneath).</summary>
public sealed class ApptainerStandInFixture
{
    public ApptainerStandInFixture()
    {
        ApptainerPath = TestInfra.RunScript("tests/infra/apptainer/start.sh")["APPTAINER_PATH"];
    }

    /// <summary>The stand-in, to use as APPTAINER_PATH.</summary>
    public string ApptainerPath { get; }
}
