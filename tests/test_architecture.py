"""The architecture (docs/architecture.md) holds: import-linter's layer contracts
(pyproject.toml) are kept, no module reaches into another module's private names, the
wheel installs every package, training/ under the name hybrid_training, and no test module
imports another test module (shared test code is tests/helpers)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIRST_PARTY = ("hybrid", "training")


def _lint_imports(config: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` with ``config`` in a child process (run from the repository root)."""
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from importlinter.cli import lint_imports; "
            "sys.exit(lint_imports(config_filename=sys.argv[1], no_cache=True))",
            str(config),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )


def test_import_contracts_are_kept():
    """``lint-imports`` over the working tree: the layers, independence and private-module
    contracts in pyproject.toml's [tool.importlinter]. In a child process: import-linter
    configures logging (disabling the loggers that exist), which would silence hybrid's
    loggers for the tests that run after this one."""
    pytest.importorskip("importlinter.cli")
    run = _lint_imports(ROOT / "pyproject.toml")
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_contract_check_can_fail(tmp_path):
    """The contract run above fails on a layer violation: a copy of the configuration whose
    layers put ``errors`` above ``cli`` (every module imports errors) is refused."""
    pytest.importorskip("importlinter.cli")
    text = (ROOT / "pyproject.toml").read_text()
    broken = (
        text.replace('  "errors",\n]', '  "cli_low",\n]')
        .replace('  "cli",\n', '  "errors",\n', 1)
        .replace('  "cli_low",\n]', '  "cli",\n]')
    )
    assert broken != text
    config = tmp_path / "pyproject.toml"
    config.write_text(broken)
    run = _lint_imports(config)
    assert run.returncode != 0 and "BROKEN" in run.stdout.upper(), run.stdout


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _import_target(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - node.level + 1]
    return ".".join([*base, *([node.module] if node.module else [])])


def private_uses(path: Path) -> set[tuple[str, str]]:
    """(this module, other.module._name) for each ``from other.module import _name`` and
    each ``other.module._name`` attribute access (through any import alias) in ``path``,
    where ``other.module`` is a first-party module other than this one."""
    module = _module_name(path)
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    aliases: dict[str, str] = {}  # local name -> first-party dotted name it stands for
    found: set[tuple[str, str]] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in FIRST_PARTY:
                    local = alias.asname or alias.name.split(".")[0]
                    aliases[local] = alias.name if alias.asname else local
        elif isinstance(node, ast.ImportFrom):
            target = _import_target(node, module, path.name == "__init__.py")
            if target.split(".")[0] not in FIRST_PARTY:
                continue
            for alias in node.names:
                if _is_private(alias.name) and target != module:
                    found.add((module, f"{target}.{alias.name}"))
                aliases[alias.asname or alias.name] = f"{target}.{alias.name}"
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and _is_private(node.attr)):
            continue
        chain: list[str] = []
        value = node.value
        while isinstance(value, ast.Attribute):
            chain.append(value.attr)
            value = value.value
        if isinstance(value, ast.Name) and value.id in aliases:
            owner = ".".join([aliases[value.id], *reversed(chain)])
            if owner != module:
                found.add((module, f"{owner}.{node.attr}"))
    return found


def test_the_private_name_check_finds_reach_ins(tmp_path, monkeypatch):
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    source = tmp_path / "hybrid" / "pipeline" / "engine.py"
    source.parent.mkdir(parents=True)
    source.write_text(
        "import hybrid.api\n"
        "from hybrid import codec as c\n"
        "from hybrid.io import _check_size, read_bytes\n"
        "from . import _local\n"
        "from .engine import _self\n"
        "hybrid.api._decode(1)\n"
        "c.reader._parse(2)\n"
        "read_bytes._cache\n"
        "self_call = _self()\n"
        "value = object()._fine  # not a first-party module\n"
    )
    assert private_uses(source) == {
        ("hybrid.pipeline.engine", "hybrid.io._check_size"),
        ("hybrid.pipeline.engine", "hybrid.pipeline._local"),
        ("hybrid.pipeline.engine", "hybrid.api._decode"),
        ("hybrid.pipeline.engine", "hybrid.codec.reader._parse"),
        ("hybrid.pipeline.engine", "hybrid.io.read_bytes._cache"),
    }


def test_no_private_names_across_modules():
    """No module of hybrid/ or training/ imports or uses another module's ``_private``
    names."""
    found: set[tuple[str, str]] = set()
    for package in FIRST_PARTY:
        for path in sorted((ROOT / package).rglob("*.py")):
            found |= private_uses(path)
    assert found == set(), "private names used across modules"


def imports_of_test_modules(path: Path) -> set[str]:
    """The ``test_*`` and ``conftest`` modules of tests/ that ``path`` imports (``import``,
    ``from ... import``, relative imports resolved), other than itself."""
    module = _module_name(path)
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = _import_target(node, module, path.name == "__init__.py")
            imported.add(target)
            imported.update(f"{target}.{alias.name}" for alias in node.names)

    def is_test_module(name: str) -> bool:
        last = name.rsplit(".", 1)[-1]
        return name.split(".")[0] == "tests" and (last.startswith("test_") or last == "conftest")

    return {name for name in imported if is_test_module(name) and name != module}


def test_the_test_module_check_finds_imports(tmp_path, monkeypatch):
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    source = tmp_path / "tests" / "enhance" / "test_nets.py"
    source.parent.mkdir(parents=True)
    source.write_text(
        "import tests.cli.test_group\n"
        "from tests.enhance.test_infer import perturbed\n"
        "from tests.bench import conftest, test_runner\n"
        "from .test_onnx import _jpeg\n"
        "from . import conftest as here\n"
        "from tests.enhance.test_nets import itself\n"
        "from tests.helpers.jpeg import pillow_jpeg\n"
        "from tests.helpers import nets\n"
    )
    assert imports_of_test_modules(source) == {
        "tests.cli.test_group",
        "tests.enhance.test_infer",
        "tests.bench.conftest",
        "tests.bench.test_runner",
        "tests.enhance.test_onnx",
        "tests.enhance.conftest",
    }


def test_tests_share_code_through_helpers_not_test_modules():
    """Shared test code lives in tests/helpers (``tests.helpers.<module>``) and fixtures in
    conftest.py files; no module under tests/ imports a ``test_*.py`` module or a
    ``conftest.py`` (pytest loads those itself, and a test module imported elsewhere runs
    its tests' setup twice and hides where a helper lives)."""
    found = {
        (_module_name(path), name)
        for path in sorted((ROOT / "tests").rglob("*.py"))
        for name in imports_of_test_modules(path)
    }
    assert found == set(), "move the shared code into tests/helpers or a fixture"


def test_the_wheel_lists_every_package_and_no_top_level_training():
    """pyproject.toml names its packages one by one (so training/ can install as
    hybrid_training); a package folder missing from the list would be missing from the
    wheel while an editable install still finds it."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert config["package-dir"] == {"hybrid_training": "training"}
    inits = [init for package in FIRST_PARTY for init in (ROOT / package).rglob("__init__.py")]
    folders = {_module_name(init) for init in inits}
    installed = {"hybrid_" + name if name.split(".")[0] == "training" else name for name in folders}
    assert set(config["packages"]) == installed
    assert not any(name.split(".")[0] == "training" for name in config["packages"])


def test_hybrid_train_and_export_load_the_installed_hybrid_training():
    """``hybrid train`` / ``hybrid export`` reach training through the entry points, under
    its installed name (``python -m training`` from the repository is tests/training's)."""
    import sys

    from click.testing import CliRunner

    from hybrid.cli import cli

    for command, option in (("train", "--task"), ("export", "--id")):
        result = CliRunner().invoke(cli, [command, "--help"])
        assert result.exit_code == 0 and option in result.output, result.output
    assert "hybrid_training.cli" in sys.modules
