"""The layout stays one a newcomer can find their way in."""

import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "chalicelib"
LONG_ALLOWED = {"schemas.py"}  # the catalogue of request and response models
MAX_LINES = 400


def test_no_module_in_chalicelib_is_over_400_lines():
    long = {
        str(p.relative_to(ROOT)): n
        for p in ROOT.rglob("*.py")
        if p.name not in LONG_ALLOWED and (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


def test_the_layers_are_folders():
    for layer in ("domain", "db", "machinery", "services", "api", "web", "notify"):
        assert (ROOT / layer / "__init__.py").exists(), layer
    assert not (ROOT / "ledger.py").exists() and not (ROOT / "routes.py").read_text().count("def enroll")


COLD_START = """
import sys
from app import app
loaded = {name for name in sys.modules if name.startswith(("chalicelib.", "jinja2", "segno"))}
print(" ".join(sorted(loaded)))
from chalicelib.api import ledger
ledger.accruals.accrue  # the first use loads it
print("chalicelib.services.accruals" in sys.modules)
"""


def test_a_cold_start_loads_no_use_case_before_its_route():
    """Every route is declared at import, but use cases, the notification adapters and the page templates load when
    a request first needs them (chalicelib/lazy.py): a Lambda's first request pays for its own route only."""
    done = subprocess.run(
        [sys.executable, "-c", COLD_START], cwd=ROOT.parent, capture_output=True, text=True, timeout=60, check=True
    )
    loaded_at_import, loaded_on_use = done.stdout.split("\n")[:2]
    eager = set(loaded_at_import.split())
    for lazy in (
        "chalicelib.services.accruals",
        "chalicelib.services.refunds",
        "chalicelib.services.campaigns",
        "chalicelib.services.settlement",
        "chalicelib.services.customer_auth",
        "chalicelib.services.bindings",
        "chalicelib.services.telegram_link",
        "chalicelib.notify.settings",
        "chalicelib.notify.factory",
        "jinja2",
        "segno",
    ):
        assert lazy not in eager, f"importing the app loaded {lazy}"
    assert "chalicelib.services.auth" in eager  # what every request needs is loaded once, at import
    assert loaded_on_use == "True"


def test_a_lazy_module_can_be_patched_through_its_proxy():
    from unittest import mock

    from chalicelib.api import admin
    from chalicelib.services import bindings

    original = bindings.attach_by_operator
    with mock.patch.object(admin.bindings, "attach_by_operator", return_value="patched"):
        assert bindings.attach_by_operator() == "patched"  # every reader sees the patch
        assert admin.bindings.attach_by_operator() == "patched"
    assert bindings.attach_by_operator is original and admin.bindings.attach_by_operator is original


def test_every_name_the_notifications_package_exports_loads_on_first_use():
    """chalicelib.notify lists its names twice (for mypy, and for loading on first use): the two lists agree."""
    import chalicelib.notify as notify

    assert set(notify.__all__) == set(notify._HOME)
    for name in notify.__all__:
        assert getattr(notify, name) is not None


def test_the_code_speaks_of_the_product_not_of_issue_numbers():
    """A docstring citing a tracker's number tells the next engineer nothing the code could not say itself."""
    roots = [ROOT.parent / name for name in ("chalicelib", "local", "infra", "partner_sdk", "tests", "bench", "app.py")]
    files = [f for r in roots for f in ([r] if r.is_file() else r.rglob("*.py"))]
    cited = [
        f"{f.relative_to(ROOT.parent)}:{n}"
        for f in files
        for n, line in enumerate(f.read_text().splitlines(), 1)
        if re.search(r"\b[Ii]ssue ?[#-]?\d+", line) and f != Path(__file__)
    ]
    assert len(files) > 100 and not cited, cited


def _lazy_pairs(tree: ast.Module) -> list[tuple[str, str, str | None]]:
    """(name bound, module lazy_module loads, module the TYPE_CHECKING branch imports under that name)."""
    pairs = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"):
            continue
        typed: dict[str, str] = {}
        for stmt in node.body:
            if isinstance(stmt, ast.ImportFrom) and stmt.module:
                for alias in stmt.names:
                    typed[alias.asname or alias.name] = f"{stmt.module}.{alias.name}"
            elif isinstance(stmt, ast.Import):
                for alias in stmt.names:
                    typed[alias.asname or alias.name] = alias.name
        for stmt in node.orelse:
            if (
                isinstance(stmt, ast.Assign)
                and isinstance(stmt.value, ast.Call)
                and getattr(stmt.value.func, "id", "") == "lazy_module"
                and isinstance(stmt.value.args[0], ast.Constant)
            ):
                name = stmt.targets[0].id  # type: ignore[attr-defined]
                pairs.append((name, str(stmt.value.args[0].value), typed.get(name)))
    return pairs


def test_every_lazy_module_is_the_module_its_typed_import_names():
    """mypy reads the TYPE_CHECKING import, the running code the string given to lazy_module: a typo in the string
    would pass every check and be a 500 on the route's first request. One mechanism (chalicelib/lazy.py), checked."""
    import importlib

    pairs = [p for f in ROOT.rglob("*.py") for p in _lazy_pairs(ast.parse(f.read_text()))]
    assert len(pairs) > 25
    for name, loads, typed in pairs:
        assert loads == typed, f"{name}: lazy_module({loads!r}) but the typed import is {typed!r}"
        importlib.import_module(loads)


def test_every_mutant_names_a_line_that_occurs_once():
    """A mutant whose line moved or was duplicated would mutate nothing, or the wrong copy: `make mutants` would
    report a guard as tested that no test guards."""
    from bench.mutant_sets import every_mutant

    sources = {p: p.read_text(encoding="utf-8") for p in ROOT.rglob("*.py")}
    for mutant in every_mutant():
        hits = sum(text.count(mutant.original) for text in sources.values())
        assert hits == 1, (mutant.name, hits)
