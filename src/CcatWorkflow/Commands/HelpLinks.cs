namespace CcatWorkflow.Commands;

/// <summary>
/// Where Get-Help -Online goes: the project's documentation site (the same address as the
/// manifest's ProjectUri). One constant, so the cmdlets and the manifest cannot drift apart.
/// </summary>
internal static class HelpLinks
{
    /// <summary>The project's documentation.</summary>
    public const string Online = "https://docs.data.ccat.uni-koeln.de/workflow-manager/";
}
