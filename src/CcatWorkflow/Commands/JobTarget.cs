namespace CcatWorkflow.Commands;

/// <summary>A job a cmdlet was asked about: its id, backend, and what to name as the error target.</summary>
/// <param name="JobId">The backend's job id.</param>
/// <param name="Backend">The backend (from -Backend, the piped object, or the settings).</param>
/// <param name="Target">The object errors name: the piped HPCJobInfo, else the id.</param>
internal sealed record JobTarget(string JobId, HPCBackendKind Backend, object Target);
