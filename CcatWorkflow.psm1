# Script-level niceties only; every cmdlet is compiled (CcatWorkflow.dll), and so is tab
# completion (src/CcatWorkflow/Completion: C# argument completers, read-only and time-boxed).
