namespace CcatWorkflow;

/// <summary>A resource a job asks for and Measure-CcatJob measures.</summary>
public enum JobResource
{
    /// <summary>CPUs (the cpu key of -Resources).</summary>
    Cpu,
    /// <summary>Memory in GiB (memory_gb).</summary>
    Memory,
    /// <summary>Run time in hours (time_hours).</summary>
    Time,
}
