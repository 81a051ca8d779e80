"""The deployment files read the way Docker and Compose read them, for the tests beside this file.

``dockerfile()`` splits ``Dockerfile`` into instructions (line continuations joined, heredocs kept as
the text they write); ``compose(environ)`` loads ``compose.yaml`` with Compose's variable
interpolation (``${NAME}``, ``${NAME:-default}``, ``${NAME-default}``, ``$$``) applied to every
string; ``documented_variables()`` is the first column of the table in ``docs/DEPLOY.md``.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from tests.conftest import REPO

DOCKERFILE = REPO / "Dockerfile"
COMPOSE = REPO / "compose.yaml"
DEPLOY_MD = REPO / "docs" / "DEPLOY.md"
HEALTHCHECK_PATH = "/opt/wattsup/healthcheck.py"  # where the Dockerfile writes the health check


@dataclass
class Instruction:
    keyword: str  # upper case: FROM, RUN, COPY, ...
    args: str  # the rest of the line, continuations joined
    line: int  # 1-based line of the keyword
    heredoc: str | None = None  # the text a ``<<EOF`` instruction writes


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]


def instructions(text: str) -> list[Instruction]:
    """The Dockerfile's instructions, comments and blank lines dropped."""
    lines = text.splitlines()
    out: list[Instruction] = []
    i = 0
    while i < len(lines):
        raw = lines[i]
        start = i + 1
        i += 1
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        joined = raw
        while joined.rstrip().endswith("\\") and i < len(lines):
            joined = joined.rstrip()[:-1] + " " + lines[i].strip()
            i += 1
        keyword, _, args = joined.strip().partition(" ")
        heredoc = None
        marker = re.search(r"<<-?'?\"?(\w+)'?\"?", args)
        if marker:
            end = lines.index(marker.group(1), i)
            heredoc = "\n".join(lines[i:end]) + "\n"
            i = end + 1
        out.append(Instruction(keyword.upper(), args.strip(), start, heredoc))
    return out


def stages(text: str | None = None) -> list[Stage]:
    """The build stages, in order (the last one is the image)."""
    found: list[Stage] = []
    for ins in instructions(DOCKERFILE.read_text() if text is None else text):
        if ins.keyword == "FROM":
            parts = ins.args.split()
            name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else None
            found.append(Stage(parts[0], name))
        elif found:
            found[-1].instructions.append(ins)
    return found


def image() -> Stage:
    return stages()[-1]


def exec_form(args: str) -> list[str]:
    """``["python", "-m", ...]`` of a CMD / HEALTHCHECK CMD (exec form only: no shell in between)."""
    value = json.loads(args)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), args
    return value


def image_env(stage: Stage) -> dict[str, str]:
    """Every ``ENV KEY=VALUE`` of the stage (the forms this Dockerfile uses)."""
    env: dict[str, str] = {}
    for ins in stage.all("ENV"):
        for pair in ins.args.split():
            key, sep, value = pair.partition("=")
            assert sep, f"line {ins.line}: write ENV as KEY=VALUE, got {pair!r}"
            env[key] = value
    return env


def healthcheck(stage: Stage) -> tuple[list[str], str]:
    """The HEALTHCHECK command and the text of the script it runs."""
    (check,) = stage.all("HEALTHCHECK")
    command = exec_form(check.args[check.args.index("CMD") + 3 :].strip())
    assert HEALTHCHECK_PATH in command, command
    writes = [i for i in stage.all("COPY") if i.heredoc and i.args.endswith(HEALTHCHECK_PATH)]
    assert len(writes) == 1, f"the Dockerfile should write {HEALTHCHECK_PATH} once, in a heredoc"
    return command, writes[0].heredoc or ""


def health_urls(script: str) -> dict[str, str]:
    """The script's ``URLS``: role -> the URL it checks inside the container."""
    block = re.search(r"^URLS = (\{.*?\n\})", script, re.S | re.M)
    assert block, "the health check script should define URLS = {role: url}"
    return ast.literal_eval(block.group(1))


# ---- compose ---------------------------------------------------------------------------------
_VAR = re.compile(r"\$(?:(?P<escaped>\$)|\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<default>[^}]*))?\})")


def interpolate(text: str, environ: Mapping[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        if match.group("escaped"):
            return "$"
        name, op, default = match.group("name"), match.group("op"), match.group("default") or ""
        value = environ.get(name)
        if op in (":-", ":?") and not value:
            value = None
        if value is None:
            if op and op.endswith("?"):
                raise ValueError(f"compose.yaml requires {name}: {default}")
            return default if op else ""
        return value

    return _VAR.sub(one, text)


def variables(text: str) -> set[str]:
    """Every variable name compose.yaml interpolates."""
    return {m.group("name") for m in _VAR.finditer(text) if m.group("name")}


def _interpolated(node: Any, environ: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, environ)
    if isinstance(node, list):
        return [_interpolated(v, environ) for v in node]
    if isinstance(node, dict):
        return {k: _interpolated(v, environ) for k, v in node.items()}
    return node


def compose(environ: Mapping[str, str] | None = None, text: str | None = None) -> dict[str, Any]:
    """compose.yaml as Compose sees it with ``environ`` (default: nothing set, so every default)."""
    loaded = yaml.safe_load(COMPOSE.read_text() if text is None else text)
    return _interpolated(loaded, environ or {})


# ---- docs/DEPLOY.md ----------------------------------------------------------------------------
def documented_variables() -> dict[str, str]:
    """``NAME -> default`` from the variables table of docs/DEPLOY.md (rows ``| `NAME` | ...``)."""
    rows = re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \| ([^|]*) \|", DEPLOY_MD.read_text(), re.M)
    return {name: default.strip() for name, default in rows}
