"""compose.yaml: valid against the Compose Specification's JSON schema (vendored, see
COMPOSE_SPEC_SOURCE.md), and right in the ways a schema cannot see: dependencies that exist and are
health-checked, declared volumes, one migration before the rest starts, commands and ports that
match the Dockerfile's roles, a database URL that matches the database, and every variable in the
docs. Each check is also shown to reject a broken copy."""

from __future__ import annotations

import copy
import hashlib
import json
import re
from typing import Any

import jsonschema
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import REPO
from tests.deploy import files

SCHEMA = REPO / "tests" / "deploy" / "compose-spec.json"
SCHEMA_SHA256 = "56bab44c85c0ce8affb74474950293f37d510673283a243bcd7eeadb900fa35c"
IMAGE = "wattsup:local"
# the commands the roles run (README's command line); the app's is the Dockerfile's CMD
ROLE_COMMANDS = {
    "app": ["python", "-m", "streamlit", "run", "streamlit_app.py"],
    "api": ["python", "-m", "core", "serve"],
    "worker": ["python", "-m", "core", "worker"],
    "migrate": ["python", "-m", "core", "db", "upgrade"],
}
PORT_FLAG = {"app": "--server.port", "api": "--port"}
ADDRESS_FLAG = {"app": "--server.address", "api": "--host"}
# Go's time.ParseDuration, the format of Compose's durations ("30s", "1m30s", "500ms")
DURATION = re.compile(r"^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$")


def validator() -> jsonschema.Draft201909Validator:
    schema = json.loads(SCHEMA.read_text())
    checker = jsonschema.FormatChecker()
    checker.checks("duration")(
        lambda value: not isinstance(value, str) or bool(DURATION.match(value))
    )
    jsonschema.Draft201909Validator.check_schema(schema)
    return jsonschema.Draft201909Validator(schema, format_checker=checker)


def schema_errors(doc: dict[str, Any]) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator().iter_errors(doc)
    ]


def wattsup_services(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n: s for n, s in doc["services"].items() if s.get("image") == IMAGE}


def role(service: dict[str, Any]) -> str:
    return service.get("environment", {}).get(
        "WATTSUP_ROLE", files.image_env(files.image())["WATTSUP_ROLE"]
    )


def command(service: dict[str, Any]) -> list[str]:
    cmd = service.get("command") or files.exec_form(files.image().all("CMD")[-1].args)
    return cmd if isinstance(cmd, list) else cmd.split()


def flag(argv: list[str], name: str) -> str | None:
    return argv[argv.index(name) + 1] if name in argv else None


def problems(doc: dict[str, Any]) -> list[str]:
    """What is wrong with ``doc`` beyond its schema (an empty list: nothing)."""
    found: list[str] = []
    services = doc.get("services", {})
    volumes = set(doc.get("volumes") or {})
    for name, service in services.items():
        deps = service.get("depends_on", {})
        deps = (
            {d: {"condition": "service_started"} for d in deps} if isinstance(deps, list) else deps
        )
        for target, how in deps.items():
            if target not in services:
                found.append(f"{name} depends on {target}, which is not a service")
            elif how["condition"] == "service_healthy":
                check = services[target].get("healthcheck", {})
                if not check.get("test") or check.get("disable"):
                    found.append(f"{name} waits for {target} to be healthy: it has no healthcheck")
        if "healthcheck" not in service:
            found.append(f"{name} has no healthcheck")
        for mount in service.get("volumes", []):
            source = mount.split(":")[0] if isinstance(mount, str) else mount.get("source", "")
            if source and not source.startswith((".", "/", "~")) and source not in volumes:
                found.append(f"{name} mounts the volume {source}, not declared under volumes")
    found += role_problems(doc)
    return found


def role_problems(doc: dict[str, Any]) -> list[str]:
    """The image's services against the Dockerfile: role, command, port, health check."""
    found: list[str] = []
    run = files.image()
    check_cmd, script = files.healthcheck(run)
    urls = files.health_urls(script)
    exposed = {p for ins in run.all("EXPOSE") for p in ins.args.split()}
    roles: dict[str, list[str]] = {}
    for name, service in wattsup_services(doc).items():
        r = role(service)
        roles.setdefault(r, []).append(name)
        argv = command(service)
        if r not in ROLE_COMMANDS:
            found.append(f"{name}: WATTSUP_ROLE={r} is not one of the image's roles")
            continue
        if argv[: len(ROLE_COMMANDS[r])] != ROLE_COMMANDS[r]:
            found.append(f"{name} (role {r}) runs {argv}, not {ROLE_COMMANDS[r]} ...")
        if service.get("build") != ".":
            found.append(f"{name} does not build the image from the Dockerfile")
        health = service.get("healthcheck", {})
        if r != "migrate" and health.get("test") != ["CMD", *check_cmd]:
            found.append(f"{name}: healthcheck {health.get('test')} is not the image's {check_cmd}")
        if r in urls:
            port = str(urls[r].rsplit(":", 1)[1].split("/")[0])
            if flag(argv, PORT_FLAG[r]) != port:
                found.append(
                    f"{name} listens on {flag(argv, PORT_FLAG[r])}, its health check asks {port}"
                )
            if flag(argv, ADDRESS_FLAG[r]) != "0.0.0.0":
                found.append(
                    f"{name} does not listen on 0.0.0.0 (unreachable from other containers)"
                )
            if port not in exposed:
                found.append(f"{name}: port {port} is not EXPOSEd by the Dockerfile")
            targets = [str(p).rsplit(":", 1)[-1] for p in service.get("ports", [])]
            if port not in targets:
                found.append(f"{name}: port {port} is not published")
    apps = roles.get("app", [])
    if apps and command(doc["services"][apps[0]]) != files.exec_form(run.all("CMD")[-1].args):
        found.append("the app's command differs from the Dockerfile's CMD")
    for r in ROLE_COMMANDS:
        if len(roles.get(r, [])) != 1:
            found.append(f"role {r} should run in exactly one service, runs in {roles.get(r, [])}")
    found += migration_problems(doc, roles)
    return found


def migration_problems(doc: dict[str, Any], roles: dict[str, list[str]]) -> list[str]:
    """One one-shot service migrates; every other service of the image starts after it succeeded."""
    found: list[str] = []
    migrate = roles.get("migrate", [])
    if len(migrate) != 1:
        return found  # already reported
    (name,) = migrate
    if doc["services"][name].get("restart", "no") != "no":
        found.append(f"{name} is a one-shot: restart must be 'no'")
    for other, service in wattsup_services(doc).items():
        if other == name:
            continue
        how = (
            service.get("depends_on", {}).get(name, {})
            if isinstance(service.get("depends_on"), dict)
            else {}
        )
        if how.get("condition") != "service_completed_successfully":
            found.append(f"{other} does not wait for {name} to complete successfully")
    return found


# ---- the schema ---------------------------------------------------------------------------------
def test_the_vendored_schema_is_the_one_documented() -> None:
    """compose-spec.json is byte for byte the file COMPOSE_SPEC_SOURCE.md names."""
    assert hashlib.sha256(SCHEMA.read_bytes()).hexdigest() == SCHEMA_SHA256
    assert SCHEMA_SHA256 in (SCHEMA.parent / "COMPOSE_SPEC_SOURCE.md").read_text()
    assert "Apache License" in (SCHEMA.parent / "compose-spec.LICENSE").read_text()


@pytest.mark.parametrize(
    "environ", [{}, {"POSTGRES_PASSWORD": "s3cret", "WATTSUP_APP_PORT": "9000"}]
)
def test_compose_is_valid_against_the_compose_specification(environ: dict[str, str]) -> None:
    """compose.yaml, interpolated with nothing set and with settings, passes the schema."""
    assert schema_errors(files.compose(environ)) == []


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d["services"]["db"]["healthcheck"].update(intervall="5s"),
        lambda d: d["services"]["api"]["depends_on"]["db"].update(condition="service_ready"),
        lambda d: d["services"]["app"]["healthcheck"].update(interval="30 seconds"),
        lambda d: d["services"]["worker"].update(comand=["python"]),
    ],
    ids=["unknown-key", "bad-condition", "bad-duration", "typo-in-service"],
)
def test_the_schema_rejects_a_broken_copy(mutate) -> None:
    """A misspelt key, an unknown condition or a malformed duration fails validation."""
    doc = copy.deepcopy(files.compose())
    mutate(doc)
    assert schema_errors(doc)


# ---- what the schema cannot see -------------------------------------------------------------------
def test_dependencies_volumes_roles_and_migration_are_consistent() -> None:
    """Nothing is wrong with compose.yaml beyond the schema (see ``problems``)."""
    assert problems(files.compose()) == []


def _break_volume(d: dict) -> None:
    d["services"]["api"]["volumes"].append("wattsup-cache:/tmp/cache")


def _no_migrate_wait(d: dict) -> None:
    d["services"]["worker"]["depends_on"].pop("migrate")


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda d: d["services"]["app"]["depends_on"].update(
                cache={"condition": "service_healthy"}
            ),
            "not a service",
        ),
        (lambda d: d["services"]["db"].pop("healthcheck"), "no healthcheck"),
        (_break_volume, "not declared"),
        (
            lambda d: d["services"]["api"].update(
                command=["python", "-m", "core", "serve", "--host", "0.0.0.0", "--port", "8080"]
            ),
            "health check asks",
        ),
        (
            lambda d: d["services"]["api"].update(
                command=["python", "-m", "core", "serve", "--port", "8000"]
            ),
            "0.0.0.0",
        ),
        (
            lambda d: d["services"]["worker"]["environment"].update(WATTSUP_ROLE="api"),
            "exactly one service",
        ),
        (
            lambda d: d["services"]["worker"].update(command=["python", "-m", "core", "wroker"]),
            "runs",
        ),
        (_no_migrate_wait, "complete successfully"),
        (lambda d: d["services"]["migrate"].update(restart="unless-stopped"), "one-shot"),
        (lambda d: d["services"]["app"].update(ports=[]), "not published"),
    ],
    ids=[
        "missing-target",
        "unchecked-target",
        "undeclared-volume",
        "port",
        "address",
        "role-twice",
        "wrong-command",
        "no-migration-wait",
        "migrate-restarts",
        "unpublished",
    ],
)
def test_the_semantic_checks_reject_a_broken_copy(mutate, expected: str) -> None:
    """Each semantic check fails on a copy broken in the way it looks for."""
    doc = copy.deepcopy(files.compose())
    mutate(doc)
    assert any(expected in p for p in problems(doc)), problems(doc)


@pytest.mark.parametrize("environ", [{}, {"POSTGRES_PASSWORD": "s3cret"}])
def test_the_database_url_is_the_database_compose_starts(environ: dict[str, str]) -> None:
    """Every service's WATTSUP_DATABASE_URL is postgresql+psycopg:// to the db service, with the
    user, password and database the postgres container is created with (also when they are set)."""
    doc = files.compose(environ)
    db = doc["services"]["db"]
    assert db["image"].startswith("postgres:")
    assert "pg_isready" in db["healthcheck"]["test"]
    mounts = [v.split(":") for v in db["volumes"]]
    assert any(src in doc["volumes"] and dst == "/var/lib/postgresql/data" for src, dst in mounts)
    pg = db["environment"]
    for name, service in wattsup_services(doc).items():
        url = make_url(service["environment"]["WATTSUP_DATABASE_URL"])
        assert url.drivername == "postgresql+psycopg", name
        assert (url.host, url.port) == ("db", 5432), name
        assert (url.username, url.password, url.database) == (
            pg["POSTGRES_USER"],
            pg["POSTGRES_PASSWORD"],
            pg["POSTGRES_DB"],
        ), name
        assert service["depends_on"]["db"]["condition"] == "service_healthy", name
    assert pg["POSTGRES_PASSWORD"] == environ.get("POSTGRES_PASSWORD", "wattsup-local-only")


def test_ports_are_published_on_loopback_unless_told_otherwise() -> None:
    """Until the first user exists the API answers anyone: by default only this host reaches it."""
    for service in ("app", "api"):
        (mapping,) = files.compose()["services"][service]["ports"]
        assert mapping.startswith("127.0.0.1:"), mapping
        (mapping,) = files.compose({"WATTSUP_PUBLISH_ADDRESS": "0.0.0.0"})["services"][service][
            "ports"
        ]
        assert mapping.startswith("0.0.0.0:"), mapping


# ---- the docs -----------------------------------------------------------------------------------
def code_variables() -> set[str]:
    """Every WATTSUP_ variable named in core/ (what the code reads)."""
    names: set[str] = set()
    for path in (REPO / "core").rglob("*.py"):
        names |= set(re.findall(r"\bWATTSUP_[A-Z0-9_]*[A-Z0-9]\b", path.read_text()))
    return names - {"WATTSUP_MODELS"}  # the prefix of WATTSUP_MODELS_* in one message


def test_every_variable_compose_or_the_code_reads_is_in_the_deploy_table() -> None:
    """docs/DEPLOY.md's table lists every variable compose.yaml interpolates or sets, the image's
    ENV, and every WATTSUP_ variable in core/."""
    documented = set(files.documented_variables())
    doc = files.compose()
    used = files.variables(files.COMPOSE.read_text())
    for service in doc["services"].values():
        used |= set(service.get("environment", {}))
    image_env = set(files.image_env(files.image())) - {
        "PATH",
        "PYTHONPATH",
        "PYTHONUNBUFFERED",
        "PYTHONDONTWRITEBYTECODE",
    }
    missing = (used | image_env | code_variables()) - documented
    assert not missing, f"not in docs/DEPLOY.md's table: {sorted(missing)}"


def test_the_deploy_table_invents_nothing() -> None:
    """Every variable in the table is one the code, the image, compose.yaml or the postgres image
    reads (a renamed variable leaves no stale row)."""
    known = code_variables() | files.variables(files.COMPOSE.read_text())
    known |= set(files.image_env(files.image()))
    for service in files.compose()["services"].values():
        known |= set(service.get("environment", {}))
    core_text = "\n".join(p.read_text() for p in (REPO / "core").rglob("*.py"))
    known |= {n for n in ("STREAMLIT_SERVER_MAX_UPLOAD_SIZE", "BROWSER_PATH") if n in core_text}
    stale = set(files.documented_variables()) - known
    assert not stale, f"docs/DEPLOY.md documents variables nothing reads: {sorted(stale)}"
