using CcatWorkflow.Core.Diagnostics;

namespace CcatWorkflow.Core.Backends.Local;

/// <summary>
/// Writes every call to a Local job store to the engine log with its duration and counts
/// (<c>file job store: read 200 records: 3 ms, 198 found</c>). The store's description names
/// the host or folder, never the password.
/// </summary>
internal sealed class LoggedJobStore(ILocalJobStore inner) : ILocalJobStore
{
    /// <inheritdoc />
    public string Description => inner.Description;

    /// <inheritdoc />
    public async Task CreateAsync(string id, IReadOnlyDictionary<string, string> fields, DateTimeOffset submittedAt, CancellationToken cancellationToken)
    {
        var timer = CcatLog.Time($"{Description}: create record {id}");
        await inner.CreateAsync(id, fields, submittedAt, cancellationToken).ConfigureAwait(false);
        timer.Done();
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<Errors.CcatException?>> CreateManyAsync(IReadOnlyList<LocalRecordDraft> records, CancellationToken cancellationToken)
    {
        var timer = CcatLog.Time($"{Description}: create {records.Count} record{(records.Count == 1 ? "" : "s")}");
        var errors = await inner.CreateManyAsync(records, cancellationToken).ConfigureAwait(false);
        timer.Done($"{errors.Count(e => e is null)} made");
        return errors;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<IReadOnlyDictionary<string, string>?>> GetManyAsync(IReadOnlyList<string> ids, CancellationToken cancellationToken)
    {
        var timer = CcatLog.Time($"{Description}: read {ids.Count} record{(ids.Count == 1 ? "" : "s")}");
        var records = await inner.GetManyAsync(ids, cancellationToken).ConfigureAwait(false);
        timer.Done($"{records.Count(r => r is not null)} found");
        return records;
    }

    /// <inheritdoc />
    public async Task<bool> UpdateAsync(string id, IReadOnlyDictionary<string, string> fields, CancellationToken cancellationToken)
    {
        var timer = CcatLog.Time($"{Description}: update record {id} ({fields.Count} fields)");
        var updated = await inner.UpdateAsync(id, fields, cancellationToken).ConfigureAwait(false);
        timer.Done(updated ? null : "record gone");
        return updated;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> ListAsync(CancellationToken cancellationToken)
    {
        var timer = CcatLog.Time($"{Description}: list records");
        var ids = await inner.ListAsync(cancellationToken).ConfigureAwait(false);
        timer.Done($"{ids.Count} records");
        return ids;
    }

    /// <inheritdoc />
    public async Task DeleteAsync(string id, CancellationToken cancellationToken)
    {
        var timer = CcatLog.Time($"{Description}: delete record {id}");
        await inner.DeleteAsync(id, cancellationToken).ConfigureAwait(false);
        timer.Done();
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => inner.DisposeAsync();
}
