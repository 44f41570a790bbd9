using System.Text;

namespace CcatWorkflow.Core.Execution;

/// <summary>
/// The one function that puts a caller's string into a POSIX shell script or command line.
/// Everything from a caller that ends up in text run by <c>/bin/sh</c> (sbatch scripts, the
/// apptainer line, exported environment values) goes through <see cref="Quote"/>.
/// </summary>
public static class ShellQuoting
{
    // Words the shell treats as syntax when they stand first in a command (POSIX reserved
    // words, plus bash's): a bare "if" or "time" would not be run as a program.
    private static readonly HashSet<string> ReservedWords = new(StringComparer.Ordinal)
    {
        "case", "do", "done", "elif", "else", "esac", "fi", "for", "if", "in", "then", "until", "while",
        "function", "select", "time", "coproc",
    };

    /// <summary>
    /// Quotes <paramref name="value"/> as one POSIX shell word that expands to exactly the
    /// given characters: single quotes around everything, each embedded single quote written
    /// as <c>'\''</c>. Inside single quotes nothing is special to the shell — not <c>$</c>,
    /// backticks, backslashes or newlines — so any string round-trips. A word made only of
    /// characters that are never special (letters, digits, <c>_ - . / : @ % + ,</c>) and that is
    /// not a reserved word is left bare, for readable scripts. <c>=</c> is not in that set: a
    /// bare <c>A=b</c> in command position is an assignment, not a word. NUL cannot be carried
    /// by a shell word and is refused.
    /// </summary>
    public static string Quote(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.Contains('\0'))
        {
            throw new ArgumentException("A NUL character cannot be passed through a shell word.", nameof(value));
        }

        if (value.Length > 0 && value.All(IsPlain) && !ReservedWords.Contains(value))
        {
            return value;
        }

        var sb = new StringBuilder(value.Length + 2).Append('\'');
        foreach (var c in value)
        {
            if (c == '\'')
            {
                sb.Append("'\\''");
            }
            else
            {
                sb.Append(c);
            }
        }

        return sb.Append('\'').ToString();
    }

    private static bool IsPlain(char c) =>
        char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.' or '/' or ':' or '@' or '%' or '+' or ',';

    /// <summary>Quotes each word and joins them with spaces: an argv as one command line.</summary>
    public static string Join(IEnumerable<string> words) => string.Join(' ', words.Select(Quote));

    /// <summary>True for names a shell accepts in <c>export NAME=…</c>.</summary>
    public static bool IsShellIdentifier(string name) =>
        name.Length > 0 && (char.IsAsciiLetter(name[0]) || name[0] == '_') && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');
}
