using System.Management.Automation;

namespace CcatWorkflow.Commands;

/// <summary>
/// The cmdlets' backend-parsing helper. PowerShell binds <c>-Backend</c> through
/// <see cref="HPCBackendKind.Parse"/>, which refuses an unknown name or a list
/// (<c>'Slurm,Local'</c>). But when the value comes from a piped object's <c>Backend</c>
/// property, a failed conversion is silently dropped and the optional parameter left unbound:
/// the job would be looked up on the default backend. This attribute notes the refused text
/// for the cmdlet (<see cref="TakeRefused"/>), which reports it as an error for that object.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class BackendArgumentAttribute : ArgumentTransformationAttribute
{
    // Binding and ProcessRecord run on the pipeline thread, one record after the other.
    [ThreadStatic]
    private static string? _refused;

    /// <inheritdoc />
    public override object? Transform(EngineIntrinsics engineIntrinsics, object? inputData)
    {
        var value = inputData is PSObject ps ? ps.BaseObject : inputData;
        if (value is string text && !HPCBackendKind.TryParse(text, out _))
        {
            _refused = text;
        }

        // Unchanged: the conversion that follows still refuses the text on the command line.
        return inputData;
    }

    /// <summary>The backend text refused while binding the current record, if any (and forgets it).</summary>
    public static string? TakeRefused()
    {
        var r = _refused;
        _refused = null;
        return r;
    }
}
