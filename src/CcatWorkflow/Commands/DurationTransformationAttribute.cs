using System.Globalization;
using System.Management.Automation;
using System.Text.RegularExpressions;

namespace CcatWorkflow.Commands;

/// <summary>
/// Lets a TimeSpan parameter take <c>30d</c>, <c>12h</c>, <c>90m</c>, <c>45s</c> or <c>2w</c>
/// (a number, then one unit) besides what PowerShell already converts to a TimeSpan
/// (<c>'30.00:00:00'</c>, <c>(New-TimeSpan -Days 30)</c>). Anything else is passed on unchanged
/// for PowerShell's own conversion, which reports it.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed partial class DurationTransformationAttribute : ArgumentTransformationAttribute
{
    [GeneratedRegex(@"^\s*(\d+(?:\.\d+)?)\s*([wdhms])\s*$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Shorthand();

    /// <inheritdoc />
    public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
    {
        var value = inputData is PSObject p ? p.BaseObject : inputData;
        if (value is not string text) return inputData;
        var m = Shorthand().Match(text);
        if (!m.Success) return inputData;
        var n = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        return char.ToLowerInvariant(m.Groups[2].Value[0]) switch
        {
            'w' => TimeSpan.FromDays(7 * n),
            'd' => TimeSpan.FromDays(n),
            'h' => TimeSpan.FromHours(n),
            'm' => TimeSpan.FromMinutes(n),
            _ => TimeSpan.FromSeconds(n),
        };
    }
}
