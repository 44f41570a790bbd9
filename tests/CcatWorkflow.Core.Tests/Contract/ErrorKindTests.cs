using CcatWorkflow.Core.Errors;

namespace CcatWorkflow.Core.Tests.Contract;

public class ErrorKindTests
{
    [Fact]
    public void An_unreachable_scheduler_is_a_connection_error_not_a_job_failure()
    {
        Assert.Equal(CcatErrorKind.ConnectionError, CcatException.KindOf(CcatErrorId.SchedulerUnavailable));
        Assert.Equal(CcatErrorKind.ConnectionError, CcatException.KindOf(CcatErrorId.StoreUnavailable));
    }

    [Fact]
    public void Every_id_has_a_deliberate_kind()
    {
        // NotSpecified is kept for InternalError alone: every other id was given a kind on purpose.
        foreach (var id in Enum.GetValues<CcatErrorId>().Where(i => i != CcatErrorId.InternalError))
        {
            Assert.NotEqual(CcatErrorKind.NotSpecified, CcatException.KindOf(id));
        }
    }

    [Fact]
    public void The_job_travels_with_the_error()
    {
        var ex = new CcatException(CcatErrorId.JobNotFound, "gone", "123");
        Assert.Equal("123", ex.JobId);
        Assert.Equal(CcatErrorKind.ObjectNotFound, ex.Kind);
    }

    [Theory]
    [InlineData(CcatErrorId.SchedulerUnavailable, true)]
    [InlineData(CcatErrorId.StoreUnavailable, true)]
    [InlineData(CcatErrorId.KubernetesConnectionFailed, true)]
    [InlineData(CcatErrorId.KubernetesTlsFailed, true)]
    [InlineData(CcatErrorId.KubernetesServerError, true)]
    [InlineData(CcatErrorId.JobNotFound, false)]
    [InlineData(CcatErrorId.KubernetesUnauthorized, false)]
    [InlineData(CcatErrorId.SubmissionRejected, false)]
    public void Unavailable_means_could_not_ask_not_a_verdict_on_the_job(CcatErrorId id, bool unavailable) =>
        Assert.Equal(unavailable, new CcatException(id, "x").IsUnavailable);
}
