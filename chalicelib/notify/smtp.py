"""E-mail over SMTP with smtplib: STARTTLS (587), implicit TLS (465) or plain (a local relay only).

The message is an ``email.message.EmailMessage`` with the SMTP policy: the subject and the sender's name are RFC 2047
encoded-words, the body is UTF-8 in base64, so Russian arrives intact through any relay, 8BITMIME or not. The
Message-ID, made here, is the delivery's id. SMTP answers map onto the port's errors:

    connection refused, timeout, 421 or any 4xx    ProviderUnavailable (retry later)
    535 / 530 authentication                        ProviderAccountError
    sender refused (5xx)                             ProviderAccountError (our from-address)
    recipient 501 / 553 (address syntax)             InvalidDestination
    recipient 550 / 551 / 552 / 554 ...              RecipientUnreachable (mailbox unavailable)
    data refused (5xx)                               MessageRejected
    no STARTTLS offered when asked for               ChannelNotConfigured
"""

from __future__ import annotations

import smtplib
import ssl
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

from chalicelib.notify.port import (
    ChannelNotConfigured,
    Delivery,
    InvalidDestination,
    Message,
    MessageRejected,
    NotificationError,
    ProviderAccountError,
    ProviderUnavailable,
    RecipientUnreachable,
    mask,
    scrub,
)
from chalicelib.notify.settings import SMTP_PASSWORD, EmailSettings, SecretSource, require

PROVIDER = "smtp"
SUBJECTS = {
    "sign_in": "Код для входа",
    "spend_code": "Код для списания баллов",
    "portal_link": "Ссылка на вашу страницу",
    "purchase_note": "Начислены баллы",
    "tier_reached": "Новый уровень",
    "campaign_offer": "Предложение для вас",
}
ONE_CLICK = "List-Unsubscribe=One-Click"  # RFC 8058: the mailbox may unsubscribe with one POST, no page in between


class SmtpNotifier:
    def __init__(
        self,
        settings: EmailSettings,
        sender_name: str,
        secrets: SecretSource,
        *,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self._settings = settings
        self._sender_name = sender_name
        self._secrets = secrets
        self._tls_context = tls_context  # tests trust their own certificate; None is the system's trust store

    def send(self, message: Message) -> Delivery:
        if message.channel != "email":
            raise MessageRejected(f"{PROVIDER} sends email, not {message.channel}", provider=PROVIDER)
        password = require(self._secrets, SMTP_PASSWORD, "email") if self._settings.username else None
        mail = self.compose(message)
        try:
            smtp = self._connect()
            try:
                self._deliver(smtp, mail, password)
            finally:
                _close(smtp)  # once the message is accepted, a failing QUIT must not make it look unsent
        except NotificationError:
            raise
        except smtplib.SMTPRecipientsRefused as exc:
            code, answer = next(iter(exc.recipients.values()), (0, b""))
            raise _recipient_error(code, answer, message) from None
        except smtplib.SMTPAuthenticationError as exc:
            raise ProviderAccountError(_reason("login refused", exc.smtp_code, exc.smtp_error, message)) from None
        except smtplib.SMTPSenderRefused as exc:
            error = _temporary(exc.smtp_code, exc.smtp_error, message) or ProviderAccountError(
                _reason("sender refused", exc.smtp_code, exc.smtp_error, message), provider=PROVIDER
            )
            raise error from None
        except smtplib.SMTPDataError as exc:
            error = _temporary(exc.smtp_code, exc.smtp_error, message) or MessageRejected(
                _reason("message refused", exc.smtp_code, exc.smtp_error, message), provider=PROVIDER
            )
            raise error from None
        except smtplib.SMTPResponseException as exc:  # 421 greeting (SMTPConnectError), HELO refused, ...
            error = _temporary(exc.smtp_code, exc.smtp_error, message) or MessageRejected(
                _reason("refused", exc.smtp_code, exc.smtp_error, message), provider=PROVIDER
            )
            raise error from None
        except smtplib.SMTPNotSupportedError as exc:
            raise MessageRejected(f"{PROVIDER} not supported by the server: {exc}", provider=PROVIDER) from None
        except (smtplib.SMTPException, OSError) as exc:  # refused, reset, timeout, TLS handshake, disconnected
            raise ProviderUnavailable(f"{PROVIDER} unreachable ({type(exc).__name__})", provider=PROVIDER) from None
        return Delivery("email", PROVIDER, str(mail["Message-ID"]).strip("<>"), mask(message.to, "email"))

    def compose(self, message: Message) -> EmailMessage:
        mail = EmailMessage(policy=SMTP)
        local, domain = self._settings.from_address.rsplit("@", 1)
        mail["From"] = Address(self._sender_name, local, domain)
        mail["To"] = message.to
        subject = message.subject or SUBJECTS.get(message.purpose)
        mail["Subject"] = f"{self._sender_name}: {subject}" if subject else self._sender_name
        mail["Date"] = format_datetime(datetime.now(UTC))
        mail["Message-ID"] = make_msgid(domain=domain)
        mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to a code
        if message.unsubscribe_url:  # marketing only: mail clients show an "unsubscribe" button (RFC 2369, 8058)
            mail["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
            mail["List-Unsubscribe-Post"] = ONE_CLICK
        mail.set_content(message.text, charset="utf-8", cte="base64")
        return mail

    def _deliver(self, smtp: smtplib.SMTP, mail: EmailMessage, password: str | None) -> None:
        if self._settings.security == "starttls":
            smtp.ehlo()
            if not smtp.has_extn("starttls"):
                raise ChannelNotConfigured(f"{PROVIDER} server offers no STARTTLS", provider=PROVIDER)
            smtp.starttls(context=self._context())
            smtp.ehlo()
        if self._settings.username and password:
            smtp.login(self._settings.username, password)
        smtp.send_message(mail)

    def _connect(self) -> smtplib.SMTP:
        s = self._settings
        if s.security == "tls":
            return smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout_seconds, context=self._context())
        return smtplib.SMTP(s.host, s.port, timeout=s.timeout_seconds)

    def _context(self) -> ssl.SSLContext:
        return self._tls_context or ssl.create_default_context()


def _close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def _reason(what: str, code: int, answer: bytes | str, message: Message) -> str:
    text = answer.decode("utf-8", "replace") if isinstance(answer, bytes) else answer
    return f"{PROVIDER} {what}: {code} {scrub(text, message)}"


def _temporary(code: int, answer: bytes | str, message: Message) -> NotificationError | None:
    if 400 <= code < 500:
        return ProviderUnavailable(_reason("try later", code, answer, message), provider=PROVIDER)
    return None


def _recipient_error(code: int, answer: bytes | str, message: Message) -> NotificationError:
    temporary = _temporary(code, answer, message)
    if temporary is not None:
        return temporary
    reason = _reason("recipient refused", code, answer, message)
    if code in (501, 553):
        return InvalidDestination(reason, provider=PROVIDER)
    if code in (530, 535):
        return ProviderAccountError(reason, provider=PROVIDER)
    return RecipientUnreachable(reason, provider=PROVIDER)
