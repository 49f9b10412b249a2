"""Who may import whom (DESIGN.md §2), checked by reading every import with ``ast``.

- ``flightsw`` never imports ``sim`` or ``groundsw``.
- ``sim`` and ``groundsw`` import from ``flightsw`` only ``flightsw.icd`` (``sim/harness.py``
  may also import ``flightsw.bus``, to start flight apps through its public runner).
- ``groundsw`` never imports ``sim``.
- ``flightsw/sched`` and every ``flightsw/apps/*/core.py`` are pure: no sockets, files,
  clocks, randomness, processes or threads.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("flightsw", "sim", "groundsw")
IMPURE = frozenset({"socket", "zmq", "sqlite3", "time", "datetime", "random", "os", "subprocess",
                    "threading", "multiprocessing"})


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, root: Path) -> list[tuple[int, str]]:
    """(line, absolute module) for every import in the file, relative ones resolved.

    ``from X import a, b`` yields ``X.a`` and ``X.b`` (each may be a submodule, and both
    lie under X, so a rule about X applies to them); ``from X import *`` yields X.
    """
    tree = ast.parse(path.read_text(), filename=str(path))
    module = module_name(path, root)
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                prefix = ".".join([*base, *([node.module] if node.module else [])])
            else:
                prefix = node.module or ""
            for alias in node.names:
                name = prefix if alias.name == "*" else f"{prefix}.{alias.name}" if prefix else alias.name
                out.append((node.lineno, name))
    return sorted(set(out))


def _under(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def violations_of(path: Path, root: Path) -> list[str]:
    """Layering rules broken by one file, each naming the file, line and import."""
    rel = path.relative_to(root).as_posix()
    top = rel.split("/")[0]
    pure = rel.startswith("flightsw/sched/") or (
        rel.startswith("flightsw/apps/") and path.name == "core.py"
    )
    found = []
    for line, name in imports_of(path, root):
        where = f"{rel}:{line} imports {name}"
        if top == "flightsw" and (_under(name, "sim") or _under(name, "groundsw")):
            found.append(f"{where}: flightsw must not import sim or groundsw")
        if top in ("sim", "groundsw") and _under(name, "flightsw"):
            allowed = _under(name, "flightsw.icd") or (
                rel == "sim/harness.py" and _under(name, "flightsw.bus")
            )
            if not allowed:
                found.append(f"{where}: {top} may import only flightsw.icd from flightsw")
        if top == "groundsw" and _under(name, "sim"):
            found.append(f"{where}: groundsw must not import sim")
        if pure and name.split(".")[0] in IMPURE:
            found.append(f"{where}: pure code must not use {name.split('.')[0]}")
    return found


def source_files(root: Path) -> list[Path]:
    return sorted(p for pkg in PACKAGES if (root / pkg).is_dir() for p in (root / pkg).rglob("*.py"))


def all_violations(root: Path) -> list[str]:
    return [v for path in source_files(root) for v in violations_of(path, root)]


# ------------------------------------------------------------------ the real tree

# Files that break a rule today (see the reasons); strict, so fixing one turns it red.
KNOWN_VIOLATIONS: dict[str, str] = {}  # file -> reason, for a violation being worked on


def _file_params() -> list:
    params = []
    for path in source_files(ROOT):
        rel = path.relative_to(ROOT).as_posix()
        marks = ([pytest.mark.xfail(strict=True, reason=KNOWN_VIOLATIONS[rel])]
                 if rel in KNOWN_VIOLATIONS else [])
        params.append(pytest.param(path, id=rel, marks=marks))
    return params


def test_the_tree_has_source_files_to_check() -> None:
    files = {p.relative_to(ROOT).parts[0] for p in source_files(ROOT)}
    assert files == set(PACKAGES), f"layering check found files only under {sorted(files)}"


@pytest.mark.parametrize("path", _file_params())
def test_each_source_file_keeps_the_layering_rules(path: Path) -> None:
    found = violations_of(path, ROOT)
    assert not found, "layering rules broken:\n" + "\n".join(found)


# ------------------------------------------------------------- the checker itself


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        for parent in p.relative_to(tmp_path).parents:
            if parent != Path("."):
                (tmp_path / parent / "__init__.py").touch()
        p.write_text(text)
    return tmp_path


def test_the_checker_catches_every_kind_of_violation(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "flightsw/bus/hub.py": "import sim.world\n",
        "flightsw/icd/codec.py": "from groundsw import station\n",
        "flightsw/sched/fifo.py": "import time\n",
        "flightsw/apps/power/core.py": "def f():\n    from os import path\n",
        "sim/world.py": "from flightsw.apps.power import core\n",
        "sim/other.py": "from flightsw.bus.runner import run_lockstep\n",
        "groundsw/station.py": "import sim.scenario\n",
        "groundsw/api.py": "from flightsw import bus\n",
    })
    found = "\n".join(all_violations(root))
    for expected in (
        "flightsw/bus/hub.py:1 imports sim.world",
        "flightsw/icd/codec.py:1 imports groundsw.station",
        "flightsw/sched/fifo.py:1 imports time",
        "flightsw/apps/power/core.py:2 imports os.path",
        "sim/world.py:1 imports flightsw.apps.power.core",
        "sim/other.py:1 imports flightsw.bus.runner.run_lockstep",
        "groundsw/station.py:1 imports sim.scenario",
        "groundsw/api.py:1 imports flightsw.bus",
    ):
        assert expected in found, f"checker missed '{expected}'; it found:\n{found}"


def test_the_checker_allows_what_the_rules_allow(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "flightsw/apps/power/shell.py": "import time\nfrom flightsw.bus.participant import Out\n",
        "flightsw/apps/power/core.py": "import math\nfrom ..common import latest\n",
        "flightsw/store/ledger.py": "import sqlite3\n",
        "sim/harness.py": "from flightsw.bus.runner import run_lockstep\n",
        "sim/world.py": "from flightsw.icd.messages import JobSpec\nfrom flightsw import icd\n",
        "groundsw/station.py": "from flightsw.icd import codec\nimport sqlite3\n",
    })
    assert all_violations(root) == [], "checker flagged an allowed import"


def test_relative_imports_are_resolved_against_the_package(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "flightsw/apps/power/core.py": "from . import table\nfrom ..common import latest\n"
                                       "from ...bus import hub\n",
        "flightsw/sched/__init__.py": "from .fifo import fifo\n",
    })
    core = [n for _, n in imports_of(root / "flightsw/apps/power/core.py", root)]
    assert core == ["flightsw.apps.power.table", "flightsw.apps.common.latest", "flightsw.bus.hub"], (
        f"relative imports resolved to {core}"
    )
    init = [n for _, n in imports_of(root / "flightsw/sched/__init__.py", root)]
    assert init == ["flightsw.sched.fifo.fifo"], f"package-relative import resolved to {init}"
