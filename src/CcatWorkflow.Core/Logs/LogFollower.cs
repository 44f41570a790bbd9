using System.Text;

namespace CcatWorkflow.Core.Logs;

/// <summary>
/// Follows one growing log file: each call returns the text appended since the last one. A
/// UTF-8 sequence split across two reads is held back until it is whole. A file that does not
/// exist yet reads as empty until it appears; a file cut shorter is read again from its start.
/// Shared by the backends whose logs are files (Local, Slurm).
/// </summary>
internal sealed class LogFollower : IDisposable
{
    private readonly string _path;
    private readonly Decoder _decoder = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false).GetDecoder();
    private int? _tail;
    private FileStream? _file;
    private long _position;

    public LogFollower(string path, int? tail)
    {
        _path = path;
        _tail = tail;
    }

    public async Task<string> ReadNewAsync(CancellationToken cancellationToken)
    {
        if (_file is null)
        {
            try
            {
                _file = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, useAsync: true);
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
            {
                return "";
            }

            if (_tail is { } n)
            {
                _position = await LogText.FindTailStartAsync(_file, _file.Length, n, cancellationToken).ConfigureAwait(false);
            }

            _tail = null;
        }

        var length = _file.Length;
        if (length < _position)
        {
            _position = 0; // truncated (rotated in place): what is there now is new
            _decoder.Reset();
        }

        if (length <= _position) return "";
        var bytes = new byte[(int)Math.Min(length - _position, 4 * 1024 * 1024)];
        _file.Position = _position;
        var read = await _file.ReadAsync(bytes, cancellationToken).ConfigureAwait(false);
        _position += read;
        var chars = new char[_decoder.GetCharCount(bytes, 0, read, flush: false)];
        var count = _decoder.GetChars(bytes, 0, read, chars, 0, flush: false);
        return new string(chars, 0, count);
    }

    public void Dispose() => _file?.Dispose();
}
