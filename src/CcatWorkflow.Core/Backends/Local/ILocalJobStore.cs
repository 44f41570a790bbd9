namespace CcatWorkflow.Core.Backends.Local;

/// <summary>
/// Where Local job records live: <see cref="FileJobStore"/> (embedded, the default) or
/// <see cref="RedisJobStore"/>, chosen by <c>LOCAL_JOB_STORE</c>. A record is a flat map of
/// string fields (<see cref="LocalJobRecord"/>). Every method throws
/// <see cref="Errors.CcatErrorId.StoreUnavailable"/> when the store cannot be read or written —
/// never anything that could be mistaken for a failed job.
/// </summary>
internal interface ILocalJobStore : IAsyncDisposable
{
    /// <summary>What the store is, for messages (<c>redis 127.0.0.1:6379 db 0</c>).</summary>
    string Description { get; }

    /// <summary>Creates a record; fails when one with this id exists.</summary>
    Task CreateAsync(string id, IReadOnlyDictionary<string, string> fields, DateTimeOffset submittedAt, CancellationToken cancellationToken);

    /// <summary>
    /// Creates many records (a batch of submissions), in one round trip where the store can:
    /// one entry per record, in order — null when it was made, else that record's error (one
    /// with its id exists). Throws when the store cannot be asked at all. The default makes
    /// them one by one with <see cref="CreateAsync"/>, each failure that record's own.
    /// </summary>
    async Task<IReadOnlyList<Errors.CcatException?>> CreateManyAsync(IReadOnlyList<LocalRecordDraft> records, CancellationToken cancellationToken)
    {
        var errors = new Errors.CcatException?[records.Count];
        for (var i = 0; i < records.Count; i++)
        {
            try
            {
                await CreateAsync(records[i].Id, records[i].Fields, records[i].SubmittedAt, cancellationToken).ConfigureAwait(false);
            }
            catch (Errors.CcatException e)
            {
                errors[i] = e;
            }
        }

        return errors;
    }

    /// <summary>The records of many jobs in one round trip; null where there is none.</summary>
    Task<IReadOnlyList<IReadOnlyDictionary<string, string>?>> GetManyAsync(IReadOnlyList<string> ids, CancellationToken cancellationToken);

    /// <summary>Sets fields of an existing record; returns false (and creates nothing) when the record is gone.</summary>
    Task<bool> UpdateAsync(string id, IReadOnlyDictionary<string, string> fields, CancellationToken cancellationToken);

    /// <summary>The ids of every record, newest submission first.</summary>
    Task<IReadOnlyList<string>> ListAsync(CancellationToken cancellationToken);

    /// <summary>Removes a record (a rolled-back submission).</summary>
    Task DeleteAsync(string id, CancellationToken cancellationToken);
}

/// <summary>A record to create, with what the store indexes it by.</summary>
internal sealed record LocalRecordDraft(string Id, IReadOnlyDictionary<string, string> Fields, DateTimeOffset SubmittedAt);
