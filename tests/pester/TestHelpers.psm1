# Shared set-up for the Pester suites: the built module, and an isolated settings environment
# so no test depends on the machine's own settings.toml or CCAT_WORKFLOW_MANAGER_* variables.

$script:RepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path

function Get-RepoRoot { $script:RepoRoot }

function Get-ModuleManifestPath { Join-Path $script:RepoRoot 'out/CcatWorkflow/CcatWorkflow.psd1' }

function Reset-CcatEnvironment {
    <#
    .SYNOPSIS
        Removes every CCAT_WORKFLOW_MANAGER_* and Dynaconf variable, points the settings file
        search at an empty folder, and gives Local jobs a private job directory.
    #>
    param([Parameter(Mandatory)] [string] $JobDir)
    Get-ChildItem env: | Where-Object Name -like 'CCAT_WORKFLOW_MANAGER_*' | ForEach-Object { Remove-Item "env:$($_.Name)" }
    Remove-Item env:ENV_FOR_DYNACONF, env:SETTINGS_FILE_FOR_DYNACONF, env:SECRETS_FOR_DYNACONF -ErrorAction Ignore
    $empty = Join-Path ([IO.Path]::GetTempPath()) "ccat-empty-$PID"
    New-Item -ItemType Directory -Force $empty | Out-Null
    $env:XDG_CONFIG_HOME = $empty
    New-Item -ItemType Directory -Force $JobDir | Out-Null
    $env:CCAT_WORKFLOW_MANAGER_LOCAL_JOB_DIR = $JobDir
}

function Set-LocalStore {
    <#
    .SYNOPSIS
        Reset-CcatEnvironment, then Local jobs in -JobDir on the given store: file, or the test
        Redis (127.0.0.1:16379) under a private key prefix, so suites never see each other's jobs.
    #>
    param([Parameter(Mandatory)] [string] $JobDir, [Parameter(Mandatory)] [string] $Store, [string] $KeyPrefix = 'ccat-test')
    Reset-CcatEnvironment -JobDir $JobDir
    $env:CCAT_WORKFLOW_MANAGER_LOCAL_JOB_STORE = $Store
    $env:CCAT_WORKFLOW_MANAGER_LOCAL_CANCEL_GRACE_SECONDS = '2'
    if ($Store -eq 'redis') {
        $env:CCAT_WORKFLOW_MANAGER_REDIS_HOST = '127.0.0.1'
        $env:CCAT_WORKFLOW_MANAGER_REDIS_PORT = '16379'
        $env:CCAT_WORKFLOW_MANAGER_REDIS_KEY_PREFIX = "${KeyPrefix}:$([guid]::NewGuid().ToString('N'))"
    }
}

function Invoke-InOtherProcess {
    <#
    .SYNOPSIS
        Runs the script in a separate pwsh process with the built module and this process's
        environment; returns its output objects (through CLIXML). A failing script throws.
    #>
    param([Parameter(Mandatory)] [string] $Script)
    $file = Join-Path ([IO.Path]::GetTempPath()) "ccat-other-$([guid]::NewGuid()).ps1"
    Set-Content $file "Import-Module '$(Get-ModuleManifestPath)'; `$ErrorActionPreference = 'Stop'; $Script"
    try {
        $out = & dotnet (Join-Path $PSHOME 'pwsh.dll') -NoProfile -NonInteractive -OutputFormat xml -File $file
        if ($LASTEXITCODE -ne 0) { throw "The other process exited with $LASTEXITCODE running: $Script" }
        $out
    }
    finally { Remove-Item $file -ErrorAction Ignore }
}

function Save-TestEnvironment {
    <#
    .SYNOPSIS
        Every environment variable and the current location, for Restore-TestEnvironment: a test
        file takes this first (top-level BeforeAll) and gives it back last (top-level AfterAll),
        so nothing it sets (Reset-CcatEnvironment, PATH shims, settings) outlives the file.
    #>
    $vars = @{}
    foreach ($e in Get-ChildItem env:) { $vars[$e.Name] = $e.Value }
    @{ Variables = $vars; Location = (Get-Location).Path }
}

function Restore-TestEnvironment {
    <# Puts back what Save-TestEnvironment took: variables added since are removed, changed ones reset. #>
    param([Parameter(Mandatory)] [hashtable] $Saved)
    foreach ($e in @(Get-ChildItem env:)) {
        if (-not $Saved.Variables.ContainsKey($e.Name)) { Remove-Item "env:$($e.Name)" }
    }
    foreach ($name in $Saved.Variables.Keys) {
        if ([Environment]::GetEnvironmentVariable($name) -cne $Saved.Variables[$name]) { Set-Item "env:$name" $Saved.Variables[$name] }
    }
    Set-Location $Saved.Location
}

function Wait-Until {
    <#
    .SYNOPSIS
        Polls the condition until it holds; throws after -Seconds (a generous bound: a loaded
        machine is slow, a test must wait on the condition, never on a fixed sleep).
    #>
    param([Parameter(Mandatory)] [scriptblock] $Condition, [string] $What = "$Condition", [int] $Seconds = 120)
    $until = (Get-Date).AddSeconds($Seconds)
    while (-not (& $Condition)) {
        if ((Get-Date) -gt $until) { throw "Still not true after $Seconds s: $What" }
        Start-Sleep -Milliseconds 100
    }
}

function Get-JobDirEntry {
    <# The job folders (UUID names) in a Local job directory. #>
    param([Parameter(Mandatory)] [string] $JobDir)
    @(Get-ChildItem $JobDir -Directory -ErrorAction Ignore | Where-Object Name -match '^[0-9a-f]{8}-')
}

function Get-WhatIfText {
    <#
    .SYNOPSIS
        What-if text goes to the host, not to a stream: runs the script (after importing the
        built module) in another pwsh process, with this process's environment, and returns
        everything it printed as one string.
    #>
    param([Parameter(Mandatory)] [string] $Script)
    $file = Join-Path ([IO.Path]::GetTempPath()) "ccat-whatif-$([guid]::NewGuid()).ps1"
    Set-Content $file "Import-Module '$(Get-ModuleManifestPath)'; $Script"
    try { (& dotnet (Join-Path $PSHOME 'pwsh.dll') -NoProfile -NonInteractive -File $file 2>&1) -join "`n" }
    finally { Remove-Item $file -ErrorAction Ignore }
}

function Use-CcatLocalStore {
    <#
    .SYNOPSIS
        A fresh Local environment under $Root: its own job folder, the given job store ('file' or
        'redis': the shared test Redis with a private key prefix, so suites never see each
        other's jobs) and a 2 s cancel grace (Set-LocalStore). Returns the job folder.
    #>
    param([Parameter(Mandatory)] [string] $Root, [Parameter(Mandatory)] [string] $Store, [Parameter(Mandatory)] [string] $Name, [string] $PollSeconds)
    $dir = Join-Path $Root "$Name-$Store"
    Set-LocalStore -JobDir $dir -Store $Store
    if ($PollSeconds) { $env:CCAT_WORKFLOW_MANAGER_POLL_INTERVAL_SECONDS = $PollSeconds }
    $dir
}

function New-CcatWorkFolder {
    <# A fresh, empty folder under the temporary directory for one test file (named after it and this process). #>
    param([Parameter(Mandatory)] [string] $Name)
    $work = Join-Path ([IO.Path]::GetTempPath()) "ccat-pester-$Name-$PID"
    Remove-Item -Recurse -Force $work -ErrorAction Ignore
    New-Item -ItemType Directory -Force $work | Out-Null
    $work
}

function Use-CcatSlurmCluster {
    <#
    .SYNOPSIS
        Starts the test Slurm cluster (tests/infra/slurm, idempotent), resets the settings and
        makes Slurm the default backend with a private SLURM_JOB_DIR in a fresh work folder.
        Returns @{ Work; JobDir }.
    #>
    param([Parameter(Mandatory)] [string] $Name, [string] $PollSeconds = '1')
    & bash (Join-Path $script:RepoRoot 'tests/infra/slurm/start.sh') | Out-Null
    if ($LASTEXITCODE -ne 0) { throw "tests/infra/slurm/start.sh failed with exit code $LASTEXITCODE" }
    $work = New-CcatWorkFolder $Name
    Reset-CcatEnvironment -JobDir (Join-Path $work 'local-jobs')
    $jobDir = Join-Path $work 'slurm-jobs'
    $env:CCAT_WORKFLOW_MANAGER_HPC_BACKEND = 'slurm'
    $env:CCAT_WORKFLOW_MANAGER_SLURM_JOB_DIR = $jobDir
    $env:CCAT_WORKFLOW_MANAGER_POLL_INTERVAL_SECONDS = $PollSeconds
    @{ Work = $work; JobDir = $jobDir }
}

function Use-CcatKubernetesDouble {
    <#
    .SYNOPSIS
        Starts the Kubernetes API double (tests/infra/kubernetes, idempotent), resets the settings
        and makes Kubernetes the default backend on it (namespace ccat-test, which really runs
        each pod's command). Invoke-Kube and Invoke-KubeDouble then talk to it. Returns
        @{ State; Url; Token; Work } (Work: a fresh work folder).
    #>
    param([Parameter(Mandatory)] [string] $Name, [string] $PollSeconds = '0.5')
    $started = & bash (Join-Path $script:RepoRoot 'tests/infra/kubernetes/start.sh')
    if ($LASTEXITCODE -ne 0) { throw "tests/infra/kubernetes/start.sh failed with exit code $LASTEXITCODE" }
    $state = Split-Path -Parent (($started | Where-Object { $_ -like 'KUBECONFIG=*' }) -replace '^KUBECONFIG=', '')
    $script:KubeUrl = (Get-Content (Join-Path $state 'url') -Raw).Trim()
    $script:KubeToken = (Get-Content (Join-Path $state 'token') -Raw).Trim()
    $work = New-CcatWorkFolder $Name
    Reset-CcatEnvironment -JobDir (Join-Path $work 'local-jobs')
    $env:CCAT_WORKFLOW_MANAGER_HPC_BACKEND = 'kubernetes'
    $env:CCAT_WORKFLOW_MANAGER_K8S_KUBECONFIG = Join-Path $state 'kubeconfig'
    $env:CCAT_WORKFLOW_MANAGER_K8S_NAMESPACE = 'ccat-test'
    $env:CCAT_WORKFLOW_MANAGER_POLL_INTERVAL_SECONDS = $PollSeconds
    @{ State = $state; Url = $script:KubeUrl; Token = $script:KubeToken; Work = $work }
}

function Invoke-Kube {
    <# A call to the Kubernetes API of the double that Use-CcatKubernetesDouble started (path relative to the server, e.g. api/v1/namespaces/ccat-test/configmaps). #>
    param([Parameter(Mandatory)] [string] $Path, [string] $Method = 'Get', $Body)
    $params = @{ Uri = "$($script:KubeUrl)$Path"; Method = $Method; Headers = @{ Authorization = "Bearer $($script:KubeToken)" }; SkipCertificateCheck = $true }
    if ($null -ne $Body) { $params.Body = ($Body | ConvertTo-Json -Compress -Depth 5); $params.ContentType = 'application/json' }
    Invoke-RestMethod @params
}

function Invoke-KubeDouble {
    <# A call to the double's own control endpoints (_double/<path>, e.g. jobs/<ns>/<job>/state to end a pod by hand in ccat-manual). #>
    param([Parameter(Mandatory)] [string] $Path, $Body)
    Invoke-RestMethod -Uri "$($script:KubeUrl)_double/$Path" -Method Post -SkipCertificateCheck -Body ($Body | ConvertTo-Json -Compress) -ContentType 'application/json'
}

function Start-CcatWaiter {
    <#
    .SYNOPSIS
        A pwsh process (this process's environment and the built module) that writes -Ready, then
        waits for the job (Wait-CcatJob) and exports what it returned to -OutFile (CLIXML).
    #>
    param([Parameter(Mandatory)] [string] $JobId, [Parameter(Mandatory)] [string] $Backend,
        [Parameter(Mandatory)] [string] $Ready, [Parameter(Mandatory)] [string] $OutFile)
    $file = Join-Path ([IO.Path]::GetTempPath()) "ccat-waiter-$([guid]::NewGuid()).ps1"
    Set-Content $file "Import-Module '$(Get-ModuleManifestPath)'; `$ErrorActionPreference = 'Stop'; Set-Content '$Ready' ready; Wait-CcatJob -JobId '$JobId' -Backend $Backend -Timeout 600 | Export-Clixml '$OutFile'"
    Start-Process dotnet -ArgumentList @((Join-Path $PSHOME 'pwsh.dll'), '-NoProfile', '-NonInteractive', '-File', $file) -PassThru
}

function Invoke-CcatWaiterRace {
    <#
    .SYNOPSIS
        Several processes observing one failure at once: starts -Count waiters on the job
        (Start-CcatWaiter), and once every one is waiting runs -Release (what lets the job's
        attempt fail); returns what each waiter's Wait-CcatJob returned (deserialized). A waiter
        that fails throws.
    #>
    param([Parameter(Mandatory)] [string] $JobId, [Parameter(Mandatory)] [string] $Backend,
        [Parameter(Mandatory)] [string] $Folder, [Parameter(Mandatory)] [scriptblock] $Release, [int] $Count = 2)
    $tag = [guid]::NewGuid().ToString('N')
    $ready = 1..$Count | ForEach-Object { Join-Path $Folder "ready-$tag-$_" }
    $out = 1..$Count | ForEach-Object { Join-Path $Folder "out-$tag-$_.xml" }
    $waiters = 0..($Count - 1) | ForEach-Object { Start-CcatWaiter $JobId $Backend $ready[$_] $out[$_] }
    Wait-Until { @($ready | Where-Object { Test-Path $_ }).Count -eq $Count } -What 'every waiter is waiting' -Seconds 600
    & $Release
    $waiters | Wait-Process -Timeout 600
    foreach ($w in $waiters) { if ($w.ExitCode -ne 0) { throw "A waiter on $JobId exited with $($w.ExitCode)." } }
    $out | ForEach-Object { Import-Clixml $_ }
}

function Invoke-CcatElementRace {
    <#
    .SYNOPSIS
        Two processes observing one failed array element: submits a 3-element array under
        -RetryOn NonZeroExit whose element 1 fails its first attempt once released, races two
        waiters on that element (Invoke-CcatWaiterRace), then waits for the whole array. Every
        run appends "<index>-<attempt>" to a file. Returns @{ ArrayId; Seen (each waiter's
        result); Runs (the file's lines, sorted) }.
    #>
    param([Parameter(Mandatory)] [string] $Backend, [Parameter(Mandatory)] [string] $Folder)
    $runs = Join-Path $Folder "element-runs-$([guid]::NewGuid().ToString('N')).txt"
    $go = "$runs.go"
    $cmd = "echo `"`$CCAT_ARRAY_INDEX-`$CCAT_ATTEMPT`" >> '$runs'; [ `"`$CCAT_ARRAY_INDEX`" = 1 ] || exit 0; [ `"`$CCAT_ATTEMPT`" -ge 2 ] && exit 0; while [ ! -e '$go' ]; do sleep 0.1; done; exit 1"
    $jobs = @(Submit-CcatJob -Backend $Backend -ArrayIndex '0-2' -ExecutionCommand $cmd -JobName 'retry array race' -RetryOn NonZeroExit -MaxAttempts 3)
    $arrayId = $jobs[0].ArrayJobId
    $seen = Invoke-CcatWaiterRace -JobId "${arrayId}_1" -Backend $Backend -Folder $Folder -Release {
        Wait-Until { (Test-Path $runs) -and ((Get-Content $runs) -contains '1-1') } -What 'element 1 runs' -Seconds 300
        Start-Sleep -Seconds 2 # both are past their first poll (not a correctness margin: either order must give one retry)
        Set-Content $go go
    }
    $null = $jobs | Wait-CcatJob -Timeout 300
    @{ ArrayId = $arrayId; Seen = $seen; Runs = @(Get-Content $runs | Sort-Object) }
}

Export-ModuleMember -Function Get-RepoRoot, Get-ModuleManifestPath, Reset-CcatEnvironment, Get-JobDirEntry, Get-WhatIfText,
    Save-TestEnvironment, Restore-TestEnvironment, Wait-Until, Set-LocalStore, Invoke-InOtherProcess, Use-CcatLocalStore,
    New-CcatWorkFolder, Use-CcatSlurmCluster, Use-CcatKubernetesDouble, Invoke-Kube, Invoke-KubeDouble, Start-CcatWaiter, Invoke-CcatWaiterRace, Invoke-CcatElementRace
