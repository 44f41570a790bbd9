namespace CcatWorkflow.Commands;

/// <summary>
/// Where Get-Help -Online goes (the same address as the manifest's ProjectUri, checked by
/// Help.Tests.ps1): the CCAT Data Center's documentation of the workflow manager whose backends
/// this module implements, as the module has no public site of its own yet. It must be an
/// absolute http(s) address: -Online refuses anything else, and PowerShell drops a relative
/// ProjectUri. When the module gets a site, change it here and in CcatWorkflow.psd1.
/// </summary>
internal static class HelpLinks
{
    /// <summary>The project's documentation.</summary>
    public const string Online = "https://docs.data.ccat.uni-koeln.de/workflow-manager/";
}
