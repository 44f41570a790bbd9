using System.Globalization;

namespace CcatWorkflow.Core.Configuration;

/// <summary>
/// One known setting: its name, type, built-in default, meaning and its one rule. The rule is
/// checked once, when the settings load (<see cref="SettingsLoader"/>); the options classes
/// that read the value afterwards never check it again.
/// </summary>
/// <param name="Name">The setting's name as in settings.toml (upper case).</param>
/// <param name="Type">Its value type.</param>
/// <param name="Default">The built-in default, already of the right CLR type.</param>
/// <param name="Description">What it means, for Get-CcatConfiguration and the README.</param>
/// <param name="IsSecret">True when its value must never be shown.</param>
public sealed record SettingDefinition(string Name, SettingType Type, object Default, string Description, bool IsSecret = false)
{
    /// <summary>Smallest allowed number (Integer and Float settings).</summary>
    public double? Min { get; init; }

    /// <summary>Largest allowed number (Integer and Float settings).</summary>
    public double? Max { get; init; }

    /// <summary>The allowed words of a String setting (compared without case).</summary>
    public IReadOnlyList<string>? OneOf { get; init; }

    /// <summary>
    /// When set, the rule applies only if this returns true for the loaded settings (for
    /// example REDIS_PORT is not checked when REDIS_HOST is a unix socket path).
    /// </summary>
    public Func<CcatSettings, bool>? CheckedWhen { get; init; }

    /// <summary>
    /// A further check of the value, given every loaded setting: null when the value is good,
    /// else what is wrong ("must be an absolute path"), which the loader puts in its message.
    /// </summary>
    public Func<object, CcatSettings, string?>? Check { get; init; }

    /// <summary>The rule in words, for the README's settings table; empty when there is none beyond the type.</summary>
    public string RuleText => (Min, Max, OneOf) switch
    {
        (_, _, { } words) => string.Join(" or ", words),
        ({ } lo, { } hi, _) => $"{Num(lo)} … {Num(hi)}",
        ({ } lo, null, _) => $"≥ {Num(lo)}",
        (null, { } hi, _) => $"≤ {Num(hi)}",
        _ => "",
    };

    /// <summary>What is wrong with <paramref name="value"/>, or null when it obeys the rule.</summary>
    public string? Problem(object value, CcatSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (CheckedWhen is { } when && !when(settings)) return null;
        if (OneOf is { } words && value is string s && !words.Contains(s.Trim(), StringComparer.OrdinalIgnoreCase))
        {
            return $"must be one of: {string.Join(", ", words)}";
        }

        if (value is long or double && (Min is not null || Max is not null))
        {
            var d = Convert.ToDouble(value, CultureInfo.InvariantCulture);
            if (double.IsNaN(d) || (Min is { } lo && d < lo) || (Max is { } hi && d > hi))
            {
                return (Min, Max) switch
                {
                    ({ } a, { } b) => $"must be between {Num(a)} and {Num(b)}",
                    ({ } a, null) => $"must be {Num(a)} or more",
                    _ => $"must be {Num(Max!.Value)} or less",
                };
            }
        }

        return Check?.Invoke(value, settings);
    }

    private static string Num(double d) => d.ToString(CultureInfo.InvariantCulture);
}
