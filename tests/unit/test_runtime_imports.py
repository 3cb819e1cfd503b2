"""Each runtime ships only what it runs. The worker and each Lambda handler, imported in a fresh
interpreter with no settings, load none of the faces' or the local stack's libraries; and they
import with nothing installed but what ships with them: for the worker the image's hash-locked
requirements (requirements/worker.txt) and its two packages, for the handlers what the Lambda
runtime and the Powertools layer provide and the asset's three packages."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import tomllib
from importlib.metadata import requires
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements" / "worker.txt"
FORBIDDEN = {"moto", "typer", "rich", "flask", "werkzeug", "smart_open"}
"""The CLI's, the local stack's and the benchmark's libraries: no runtime may import them."""
OWN = {"conveyor", "batch_job", "trigger_lambda", "completion_lambda", "web_api"}
OWN |= {"conveyor_cli", "conveyor_local", "infra", "bench", "tests"}

PROBE = """
import importlib, importlib.abc, json, re, sys
from importlib.metadata import packages_distributions

def canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()

owners = packages_distributions()
own, only = json.loads(sys.argv[2])
if only is not None:  # import nothing but the stdlib, `own` and the distributions in `only`
    shipped = {m for m, dists in owners.items() if {canonical(d) for d in dists} & set(only)}
    allowed = shipped | set(own) | set(sys.stdlib_module_names)

    class Shipped(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] not in allowed:
                raise ModuleNotFoundError(f"No module named {name!r} where it runs", name=name)
            return None

    sys.meta_path.insert(0, Shipped())
before = set(sys.modules)
for name in json.loads(sys.argv[1]):
    importlib.import_module(name)
print(json.dumps(sorted({m.split(".")[0] for m in set(sys.modules) - before})))
"""


def worker_modules() -> list[str]:
    """Every module of batch_job (transforms too), and what `python -m batch_job` imports, without
    running it: batch_job/__main__.py runs a job when imported."""
    package = ROOT / "batch_job"
    names = [
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for path in sorted(package.rglob("*.py"))
        if path.name != "__main__.py"
    ]
    main = ast.parse((package / "__main__.py").read_text())
    for node in ast.walk(main):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


HANDLER_PACKAGES = ["conveyor", "trigger_lambda", "completion_lambda"]
"""The Lambda asset's packages (infra.functions.PACKAGES; tests/infra checks the asset)."""
RUNTIMES = {
    "worker": (worker_modules, ["conveyor", "batch_job"]),
    "trigger": (lambda: ["trigger_lambda.handler"], HANDLER_PACKAGES),
    "completion": (lambda: ["completion_lambda.handler"], HANDLER_PACKAGES),
    "reconcile": (lambda: ["completion_lambda.reconcile"], HANDLER_PACKAGES),
    "web": (lambda: ["web_api.handler"], ["conveyor", "web_api"]),
}


def imported(modules: list[str], own: list[str], only: set[str] | None = None) -> set[str]:
    """The top-level modules importing `modules` loads, in a fresh interpreter with no settings;
    with `only`, nothing can be imported but the stdlib, `own` and those distributions."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONVEYOR_", "AWS_"))}
    env["PYTHONPATH"] = str(ROOT)
    arguments = [json.dumps(modules), json.dumps([own, None if only is None else sorted(only)])]
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout))


@pytest.mark.parametrize("runtime", sorted(RUNTIMES))
def test_runtime_imports_none_of_the_faces_libraries(runtime: str) -> None:
    modules, own = RUNTIMES[runtime]
    loaded = imported(modules(), own)
    assert loaded & FORBIDDEN == set(), f"{runtime} imports {sorted(loaded & FORBIDDEN)}"


def closure(*names: str) -> set[str]:
    """The installed distributions `names` need, themselves included (no extras)."""
    found: set[str] = set()
    todo = list(names)
    while todo:
        name = canonicalize_name(todo.pop())
        if name in found:
            continue
        found.add(name)
        for text in requires(name) or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return found


@pytest.mark.parametrize("runtime", sorted(RUNTIMES))
def test_runtime_imports_with_only_what_ships_with_it(runtime: str) -> None:
    modules, own = RUNTIMES[runtime]
    # The image installs requirements/worker.txt and nothing else; Lambda has boto3, the layer
    # Powertools.
    shipped = set(locked()) if runtime == "worker" else closure("boto3", "aws-lambda-powertools")
    imported(modules(), own, only=shipped)


def locked() -> dict[str, dict[str, object]]:
    """requirements/worker.txt: each pinned name with its version, hashes and what pulled it in."""
    entries: dict[str, dict[str, object]] = {}
    current: dict[str, object] | None = None
    via_block = False
    for line in LOCK.read_text().splitlines():
        pin = re.match(r"^([A-Za-z0-9._-]+)==(\S+)", line)
        if pin:
            current = {"version": pin.group(2), "hashes": [], "via": []}
            entries[canonicalize_name(pin.group(1))] = current
            via_block = False
        elif current is not None and (
            digest := re.match(r"^\s+--hash=sha256:([0-9a-f]{64})", line)
        ):
            current["hashes"].append(digest.group(1))  # type: ignore[union-attr]
        elif current is not None and (via := re.match(r"^\s+# via(?: (.+))?$", line)):
            via_block = via.group(1) is None
            if via.group(1):
                current["via"].append(via.group(1).strip())  # type: ignore[union-attr]
        elif current is not None and via_block and (more := re.match(r"^\s+#\s+(.+)$", line)):
            current["via"].append(more.group(1).strip())  # type: ignore[union-attr]
        elif line.strip() and not line.lstrip().startswith("#"):
            raise AssertionError(f"unexpected line in {LOCK.name}: {line!r}")
    return entries


def worker_requirements() -> list[Requirement]:
    """The core's dependencies and the `worker` extra's, self references expanded."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = [Requirement(r) for r in project["dependencies"]]
    extras, seen = ["worker"], set()
    while extras:
        extra = extras.pop()
        seen.add(extra)
        for text in project["optional-dependencies"][extra]:
            requirement = Requirement(text)
            if canonicalize_name(requirement.name) == canonicalize_name(project["name"]):
                extras += sorted(set(requirement.extras) - seen)
            else:
                requirements.append(requirement)
    return requirements


def test_the_worker_lock_is_pyprojects_worker_dependencies_pinned_with_hashes() -> None:
    header = LOCK.read_text().splitlines()[:2]
    assert "--extra worker" in header[1] and "--generate-hashes" in header[1], header
    assert header[1].count("--extra") == 1, header
    entries = locked()
    assert entries
    for name, entry in entries.items():
        assert entry["hashes"], f"{name} has no hash"
        assert entry["via"], f"{name}: nothing pulls it in"
    requirements = worker_requirements()
    direct = {
        name for name, entry in entries.items() if "conveyor (pyproject.toml)" in entry["via"]
    }
    assert direct == {canonicalize_name(r.name) for r in requirements}, "run `make lock`"
    for requirement in requirements:
        version = entries[canonicalize_name(requirement.name)]["version"]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{requirement} but the lock pins {version}: run `make lock`"
        )
    assert not {canonicalize_name(n) for n in FORBIDDEN} & set(entries)
