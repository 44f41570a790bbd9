namespace CcatWorkflow.Core.Configuration;

/// <summary>Where an effective setting value came from, lowest precedence first.</summary>
public enum SettingSource
{
    /// <summary>The module's built-in default.</summary>
    Default,
    /// <summary>The <c>[default]</c> section of the settings file.</summary>
    FileDefault,
    /// <summary>The section of the settings file chosen by ENV_FOR_DYNACONF.</summary>
    FileEnvironment,
    /// <summary>The secrets file.</summary>
    SecretsFile,
    /// <summary>A CCAT_WORKFLOW_MANAGER_&lt;SETTING&gt; environment variable.</summary>
    EnvironmentVariable,
}
