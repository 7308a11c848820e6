"""One signing helper (chalicelib/domain/signing.py) serves webhooks, links and tokens.

Every value below is stored or already in someone's hands (a link in last week's SMS, a cursor in a client's loop, a
device cookie, an unsubscribe link in last year's message, a code's hash and a limiter's key in the table, a key
shown once and re-derived on replay, a webhook's secret): the expectations were computed by the code as it was
before the helper existed, and must never change."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from chalicelib import runtime
from chalicelib.clock import ManualClock
from chalicelib.domain import signing
from tests.conftest import START, make_settings

ROOT = Path(__file__).resolve().parents[1]
ISSUED = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
EXPIRES = datetime(2026, 3, 17, 9, 0, tzinfo=UTC)
BODY = b'{"a":1}'


@pytest.fixture(autouse=True)
def _settings() -> Iterator[None]:
    runtime.configure(make_settings(), ManualClock(START))
    yield


def test_customer_sign_in_values_are_unchanged() -> None:
    from chalicelib.services import customer_auth
    from chalicelib.services.customer_auth import Identifier

    phone = Identifier("phone", "+79161234567")
    assert customer_auth._decoy_id(phone) == "dcy_cff0905e62ba9978bd9c5f2e"
    assert customer_auth._decoy_id(Identifier("email", "анна@пример.рф")) == "dcy_c69e509a096466a1ec6b7d58"
    assert customer_auth._device_mac(phone, "dev-Abc_123") == "ibGAJY9ZfQwO7ISbZXliAxEp"
    assert customer_auth.known_device("dev-Abc_123.ibGAJY9ZfQwO7ISbZXliAxEp", phone) == "dev-Abc_123"
    assert customer_auth.known_device("dev-Abc_123.ibGAJY9ZfQwO7ISbZXliAxEq", phone) is None
    assert customer_auth.known_device("dev-Abc_123.ибGAJY9ZfQwO7ISbZXliAxEp", phone) is None


def test_customer_links_are_unchanged_and_still_open() -> None:
    from chalicelib.services import customer_auth, portal_links

    link = "v2.Y3VzXzAxMjM6MTc3MzEzMzIwMDoxNzczNzM4MDAw.hxCsSk9H5JZyDsYw0pde1CkCtiEzbrYPPMFTm61FrCI"
    assert customer_auth.sign_link("cus_0123", ISSUED, EXPIRES) == link
    opened = customer_auth._verify_signature(link, START)
    assert (opened.customer_id, opened.issued_at, opened.expires_at) == ("cus_0123", ISSUED, EXPIRES)
    legacy = "Y3VzXzAxMjM6MTc3MzczODAwMA.BYIwCCUj0clMKmXI67PcipH4jONoOidlp3PiSLs92Oo"
    assert portal_links.sign("cus_0123", EXPIRES, "test-portal-secret") == legacy
    assert portal_links.verify(legacy, "test-portal-secret", START).customer_id == "cus_0123"
    assert customer_auth._verify_signature(legacy, START).expires_at == EXPIRES


def test_stored_hashes_and_keys_are_unchanged() -> None:
    from chalicelib.machinery import limits
    from chalicelib.services import auth, one_time_codes, reminders, staff_auth, telegram_link

    assert one_time_codes.derived_code("00ff" * 8, "cus_0123", "sign_in", "web") == "844121"
    code_hash = "373aec0bc0762cb8fb7a3f17612003bde8e291b17db4d658e5edec4d584d5649"
    assert one_time_codes.digest("cus_0123", "sign_in", "web", "123456") == code_hash
    assert staff_auth._decoy_id(staff_auth.Identifier("email", "kassa@example.com")) == "dcy_c5b62dd1d3309db8093b8ef3"
    assert reminders.unsubscribe_token("cus_0123") == "0fdb6bbdcb352bcc2319c8463a68fc2c"
    assert telegram_link.digest("tok-ABC_def") == "7dad950853376a10df89b49a101a04e56b5b5c0914cdd8abdfa04add22b4ce10"
    assert limits._subject_key("test-pepper", "phone", "+79161234567") == (
        "RATE#phone#0331e5a2849d864272635a44e39bf6b6",
        "RATE",
    )
    replayed = "lk_p_1.key_1.dNrMTYe5396Wb6BmKebZ3B2pcsEpDU3qPQV1DYYV"
    assert auth.new_secret("key_1", "test-pepper", "idem-ÿ-1", "p_1") == replayed
    assert auth.new_secret("key_2", "test-pepper", "idem-2") == "lk_wiR9FiK7B-GOwnDBu1vL_iZNA-lOgl2wH9BsxGUw"


def test_cursors_sessions_and_forms_are_unchanged() -> None:
    from chalicelib.services import audit_log
    from chalicelib.web import customer_http, portal_session

    cursor = "eyJwayI6IlAjcF8xIiwic2siOiJBIzIwMjYifQ.7eb61149dd25cdffb392e980b1243005"
    assert audit_log._encode("partner:p_1", {"pk": "P#p_1", "sk": "A#2026"}) == cursor
    assert audit_log._decode("partner:p_1", cursor, ("pk", "P#p_1")) == {"pk": "P#p_1", "sk": "A#2026"}
    assert customer_http.csrf_for("cus_0123.secret") == "5fef5ac15e60ef7b1b3f72a70250623c"
    session_mac = "8ac484829eb53abeeffec4599fce70901e0454f1a0b0da84fff602008e4e762c"
    assert portal_session._sign("key_1:p_1:1773133200:sid") == session_mac
    assert portal_session.csrf_token("abc") == "c5ccc045155c9d18b4c364ea172ac5f1"


def test_webhook_secrets_and_signatures_are_unchanged() -> None:
    from chalicelib.services import webhooks

    assert webhooks._secret("salt-1") == "whsec_6fa56e9a292161fe5d6a51ba47d6849792b9a1f718884573"
    assert webhooks._salt("seed-1", "wh_1", "current") == "7cdb075ae4319f0afc0bd56d75fe2e79"
    one = "c3b444775f821c29d0c08977a5f30df3b602ae385bb23b6d98b1ba61f0ce1890"
    two = "6d3cd7f6fcd74a364ac94742658b8556c197badbc9c52eaa075024571e8dbe8b"
    assert signing.mac("whsec_x", 1773133200, BODY) == one
    assert signing.header(["whsec_x", "whsec_y"], 1773133200, BODY) == f"t=1773133200,v1={one},v1={two}"
    assert signing.derive("k", "p", "t") == "392beff155bede3cf4a11afb24163a06e9e3967d77e83d903340d1e7b3e6fb5b"


SHIPPED_CODE = ("app.py", "chalicelib", "local", "infra", "bench")
ALLOWED = {"chalicelib/domain/signing.py"}  # partner_sdk ships alone, with its own copy of the verification


def _imports_hmac(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import) and any(a.name == "hmac" for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and node.module == "hmac":
            return True
    return False


def test_only_the_signing_module_computes_or_compares_a_mac() -> None:
    """A second way to sign (or to compare a signature with ``==``) is how a value gets a rule of its own: no module
    but domain/signing.py imports hmac."""
    files = [ROOT / "app.py", *(p for d in SHIPPED_CODE[1:] if (ROOT / d).is_dir() for p in (ROOT / d).rglob("*.py"))]
    found = {str(p.relative_to(ROOT)) for p in files if _imports_hmac(p)}
    assert found <= ALLOWED, found - ALLOWED
    assert "chalicelib/domain/signing.py" in found


def test_a_signed_message_is_unambiguous() -> None:
    """Only the last part may hold the separator: ("a\\nb", "c") and ("a", "b\\nc") would otherwise sign alike."""
    assert signing.message("a", "b\nc") == b"a\nb\nc"
    with pytest.raises(ValueError):
        signing.message("a\nb", "c")
    with pytest.raises(ValueError):
        signing.sign("k", "a\x00b", "c", sep="\x00")
    assert signing.derive_key("k", "one") != signing.derive_key("k", "two")


def test_verify_compares_bytes_and_refuses_any_alphabet() -> None:
    assert signing.verify("abc", "abc") and signing.verify(b"abc", "abc")
    assert not signing.verify("ábc", "abc") and not signing.verify("\ud800", "abc") and not signing.verify("", "abc")
    assert not signing.verify("abd", "abc") and not signing.verify(b"abc", "abc ")


def test_a_token_opens_with_its_key_only_and_in_its_one_spelling() -> None:
    made = signing.token("k", b"cus_1:1773738000")
    assert signing.open_token("k", made) == b"cus_1:1773738000"
    payload, mac = made.split(".")
    for bad in (made + "A", f"{payload}.{mac[:-1]}B", f"{payload}=.{mac}", f"{payload}.{mac}.x", "ф.ф", made[1:]):
        with pytest.raises(ValueError):
            signing.open_token("k", bad)
    with pytest.raises(ValueError):
        signing.open_token("other", made)
