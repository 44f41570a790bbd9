namespace CcatWorkflow.Core.Arrays;

/// <summary>Where a dependent job stands against its parents' outcomes.</summary>
public enum DependencyVerdict
{
    /// <summary>Some parent has not ended yet, and none has ended in a way that rules the condition out.</summary>
    Waiting,

    /// <summary>Every parent ended and met the condition: the dependent may start.</summary>
    Met,

    /// <summary>A parent ended in a way that can never meet the condition: the dependent never runs.</summary>
    NeverSatisfied,
}
