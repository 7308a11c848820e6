"""The SMTP adapter against a real SMTP server (aiosmtpd) started here: Russian mail arrives intact, STARTTLS and
implicit TLS with a login, and each SMTP failure lands in the right branch of the error tree."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ipaddress
import logging
import socket
import ssl
import threading

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from chalicelib.notify import (
    ChannelNotConfigured,
    InvalidDestination,
    Message,
    NotificationSettings,
    ProviderAccountError,
    ProviderUnavailable,
    RecipientUnreachable,
    notifier_for,
)
from chalicelib.notify.settings import SMTP_PASSWORD
from chalicelib.notify.smtp import SmtpNotifier

TEXT = "Здравствуйте, Анна!\nВаш код для входа: 604219.\nЕсли это были не вы, просто удалите письмо."
SENDER_NAME = "Кофейня «Уют» и партнёры"
USER, PASSWORD = "mailer", "s3cret-smtp-pass"


class Handler:
    """Accepts mail, except for recipients whose local part names an SMTP answer."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], bytes]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        answers = {
            "gone": "550 5.1.1 <gone@example.com>: Mailbox unavailable",
            "busy": "421 4.7.0 Try again later, closing connection",
            "later": "450 4.2.1 Mailbox busy",
            "bad": "553 5.1.3 Bad recipient address syntax",
        }
        answer = answers.get(address.split("@", 1)[0])
        if answer:
            return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 2.0.0 Queued"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def handler():
    return Handler()


@pytest.fixture
def plain(handler):
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller
    controller.stop()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1, and a client context that trusts only it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cafile=str(cert_file))
    return server, client


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself


def settings(port: int, security: str = "none", username: str | None = None) -> NotificationSettings:
    return NotificationSettings.model_validate(
        {
            "channels": ["email"],
            "sender_name": SENDER_NAME,
            "email": {
                "host": "127.0.0.1",
                "port": port,
                "security": security,
                "from_address": "noreply@loyalty.example",
                "username": username,
                "timeout_seconds": 5,
            },
        }
    )


def mail(to: str = "anna@example.com") -> Message:
    return Message(channel="email", to=to, text=TEXT, code="604219", purpose="sign_in")


def received(handler: Handler) -> email.message.EmailMessage:
    assert len(handler.received) == 1
    return email.message_from_bytes(handler.received[0][2], policy=email.policy.default)


def test_russian_mail_arrives_intact(plain, handler):
    delivery = notifier_for(settings(plain.port), {}, dev_inbox=False).send(mail())
    mail_from, rcpt_tos, _ = handler.received[0]
    assert (mail_from, rcpt_tos) == ("noreply@loyalty.example", ["anna@example.com"])
    got = received(handler)
    assert got["Subject"] == f"{SENDER_NAME}: Код для входа"
    assert got["From"].addresses[0].display_name == SENDER_NAME
    assert got["From"].addresses[0].addr_spec == "noreply@loyalty.example"
    assert got["To"] == "anna@example.com"
    assert got["Auto-Submitted"] == "auto-generated"
    assert got.get_content_type() == "text/plain" and got.get_content_charset() == "utf-8"
    assert got.get_content().replace("\r\n", "\n").rstrip("\n") == TEXT
    assert all(b < 128 for b in handler.received[0][2])  # 7-bit on the wire: any relay passes it on
    assert (delivery.channel, delivery.provider, delivery.destination) == ("email", "smtp", "a***@example.com")
    assert got["Message-ID"] == f"<{delivery.message_id}>" and delivery.message_id.endswith("@loyalty.example")


def test_an_explicit_subject_wins(plain, handler):
    message = Message(channel="email", to="anna@example.com", text="Ссылка", subject="Ваша страница", purpose="x")
    notifier_for(settings(plain.port), {}, dev_inbox=False).send(message)
    assert received(handler)["Subject"] == f"{SENDER_NAME}: Ваша страница"


def test_starttls_and_login(handler, certificate):
    server_tls, client_tls = certificate
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=server_tls,
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
    )
    controller.start()
    try:
        s = settings(controller.port, "starttls", USER)
        assert s.email is not None
        SmtpNotifier(s.email, SENDER_NAME, {SMTP_PASSWORD: PASSWORD}, tls_context=client_tls).send(mail())
        assert received(handler).get_content().replace("\r\n", "\n").rstrip("\n") == TEXT
        with pytest.raises(ProviderAccountError, match="login refused: 535"):
            SmtpNotifier(s.email, SENDER_NAME, {SMTP_PASSWORD: "wrong"}, tls_context=client_tls).send(mail())
        with pytest.raises(ChannelNotConfigured, match="LOYALTY_SMTP_PASSWORD"):
            SmtpNotifier(s.email, SENDER_NAME, {}, tls_context=client_tls).send(mail())
        with pytest.raises(ProviderUnavailable):  # the system trust store does not know this certificate
            SmtpNotifier(s.email, SENDER_NAME, {SMTP_PASSWORD: PASSWORD}).send(mail())
    finally:
        controller.stop()
    assert len(handler.received) == 1


def test_implicit_tls(handler, certificate):
    server_tls, client_tls = certificate
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), ssl_context=server_tls)
    controller.start()
    try:
        s = settings(controller.port, "tls")
        assert s.email is not None
        SmtpNotifier(s.email, SENDER_NAME, {}, tls_context=client_tls).send(mail())
    finally:
        controller.stop()
    assert "604219" in received(handler).get_content()


def test_starttls_asked_but_not_offered_is_a_configuration_error(plain):
    with pytest.raises(ChannelNotConfigured, match="STARTTLS"):
        notifier_for(settings(plain.port, "starttls"), {}, dev_inbox=False).send(mail())


def test_mailbox_unavailable_is_permanent(plain, handler):
    with pytest.raises(RecipientUnreachable) as caught:
        notifier_for(settings(plain.port), {}, dev_inbox=False).send(mail("gone@example.com"))
    assert not caught.value.retryable and "550" in caught.value.reason
    assert "gone@example.com" not in caught.value.reason  # the server's echo is masked
    assert handler.received == []


def test_bad_address_syntax_is_an_invalid_destination(plain):
    with pytest.raises(InvalidDestination, match="553"):
        notifier_for(settings(plain.port), {}, dev_inbox=False).send(mail("bad@example.com"))


@pytest.mark.parametrize("to", ["busy@example.com", "later@example.com"])
def test_4xx_answers_are_transient(plain, to):
    with pytest.raises(ProviderUnavailable) as caught:
        notifier_for(settings(plain.port), {}, dev_inbox=False).send(mail(to))
    assert caught.value.retryable


def test_421_at_the_greeting_is_transient():
    listener = socket.create_server(("127.0.0.1", 0))

    def greet_and_close() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.sendall(b"421 4.3.2 Service not available, closing transmission channel\r\n")

    thread = threading.Thread(target=greet_and_close, daemon=True)
    thread.start()
    try:
        with pytest.raises(ProviderUnavailable, match="421"):
            notifier_for(settings(listener.getsockname()[1]), {}, dev_inbox=False).send(mail())
    finally:
        thread.join(timeout=5)
        listener.close()


def test_connection_refused_is_transient():
    with pytest.raises(ProviderUnavailable, match="unreachable") as caught:
        notifier_for(settings(free_port()), {}, dev_inbox=False).send(mail())
    assert caught.value.retryable


def test_logs_carry_neither_text_nor_code(plain, caplog):
    caplog.set_level(logging.DEBUG)
    n = notifier_for(settings(plain.port), {}, dev_inbox=False)
    n.send(mail())
    with pytest.raises(RecipientUnreachable):
        n.send(mail("gone@example.com"))
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name != "mail.log")  # not the test server's
    assert "notify sent channel=email to=a***@example.com purpose=sign_in provider=smtp" in logged
    assert "to=g***@example.com purpose=sign_in provider=smtp outcome=recipient_unreachable retry=no" in logged
    for secret in ("604219", "Здравствуйте", "anna@example.com", "gone@example.com"):
        assert secret not in logged
