"""What the docs promise a reader is what the code does: the demo's spend policies as the README states them, every
test the threat model cites exists, and every file of this repository the docs name is where they say."""

from __future__ import annotations

import re
from pathlib import Path

from local.demo import PARTNERS

ROOT = Path(__file__).resolve().parents[1]
POLICY_WORDS = {"always": "ask always", "never": "never"}


def _seeded_policies() -> dict[str, str]:
    out = {}
    for _key, name, *_rates, policy in PARTNERS:
        kind = policy.get("spend_confirmation", "always")
        out[name] = f"above {policy['spend_confirmation_above_points']}" if kind == "above" else POLICY_WORDS[kind]
    return out


def test_the_readme_states_the_demo_partners_spend_policies_as_seeded():
    sentence = re.search(r"In the demo (.+?)\.\n", (ROOT / "README.md").read_text(encoding="utf-8"), re.S)
    assert sentence is not None, "the README says which demo partner asks for the customer's code"
    text = " ".join(sentence.group(1).split())
    for name, policy in _seeded_policies().items():
        clause = re.search(rf"{re.escape(name)}(?:[^,]*?)\b(asks? always|above \d+|never)", text)
        assert clause is not None and clause.group(1).replace("asks", "ask") == policy, (name, policy, text)


def test_every_test_the_threat_model_cites_exists():
    security = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    cited = set(re.findall(r"::(test_\w+)", security))
    defined = {m for f in (ROOT / "tests").rglob("test_*.py") for m in re.findall(r"def (test_\w+)", f.read_text())}
    assert cited and not cited - defined, sorted(cited - defined)


# A path in backquotes that starts at one of the repository's top folders: `chalicelib/db/tx.py`, `tests/...`.
_REPO_PATH = re.compile(r"`((?:chalicelib|tests|docs|bench|local|infra|partner_sdk|\.ci|\.chalice)/[\w./-]+)`")


def test_every_repository_path_the_docs_name_exists():
    docs = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").glob("*.md"))]
    named = {(d.name, m) for d in docs for m in _REPO_PATH.findall(d.read_text(encoding="utf-8"))}
    missing = sorted((doc, path) for doc, path in named if not (ROOT / path.split("::")[0]).exists())
    assert len(named) > 50 and not missing, missing
