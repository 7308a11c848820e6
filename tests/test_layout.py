"""Issue 16: the layout stays one a newcomer can find their way in."""

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
    for layer in ("domain", "db", "services", "api", "web", "notify"):
        assert (ROOT / layer / "__init__.py").exists(), layer
    assert not (ROOT / "ledger.py").exists() and not (ROOT / "routes.py").read_text().count("def enroll")
