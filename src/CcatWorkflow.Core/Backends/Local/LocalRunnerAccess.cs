using System.Runtime.CompilerServices;

// The runner executable shares the job-file formats, the stores and the /proc readers with the
// backend; they stay internal to Core, visible to the runner only.
[assembly: InternalsVisibleTo("CcatWorkflow.LocalRunner")]
