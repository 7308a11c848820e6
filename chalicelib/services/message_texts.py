"""The texts of messages to customers, per language, and the check of the operator's replacements for those it may
replace. No imports of settings or adapters: the program's settings check a replacement with it."""

from __future__ import annotations

import string

from chalicelib.errors import ValidationFailed

__all__ = ["EDITABLE", "MONTHS_EN", "MONTHS_RU", "TEXTS", "check_templates"]

# {placeholders} are filled in by send(); a code's text must contain it (the port checks).
TEXTS: dict[str, dict[str, str]] = {
    "ru": {
        "sign_in": "{code} — код для входа в личный кабинет программы «{sender}». Никому его не сообщайте.",
        "staff_sign_in": "{code} — код для входа сотрудника в программу «{sender}». Никому его не сообщайте.",
        "webhook_disabled": "«{sender}»: вебхук {url} отключён — событие {event} не удалось доставить за три дня. "
        "Исправьте его и зарегистрируйте заново.",
        "spend": "{code} — код для списания до {points} в «{partner}». Назовите его кассиру, только если вы "
        "сейчас на кассе. Действует до {until}.",
        "bind": "{code} — код, чтобы привязать {what} к вашему счёту в «{partner}». Если вы этого не просили, "
        "никому не сообщайте код.",
        "portal_link": "Ваши баллы в программе «{sender}»: {url}",
        "phone": "телефон",
        "card": "карту",
        "email": "e-mail",
        "telegram_linked": "Готово: Telegram подключён к программе «{sender}». Чтобы коды и ссылки приходили сюда, "
        "выберите Telegram в настройках на своей странице.",
        "telegram_invalid": "Ссылка не подошла: она устарела или уже использована. Нажмите «Подключить Telegram» "
        "на своей странице ещё раз.",
        "telegram_taken": "Этот Telegram уже подключён к другому счёту в программе «{sender}». Сначала отключите "
        "его там.",
        # a spend or hold without the customer's code (policies "above" and "never"): told at once, every time
        "spent_without_code": "«{partner}» списал без кода подтверждения: {points} б. Доступно: {balance} б. "
        "Если это были не вы, заморозки и списания видны на вашей странице программы «{sender}».",
        "held_without_code": "«{partner}» заморозил без кода подтверждения: {points} б. до {until}. Доступно: "
        "{balance} б. Если это были не вы, снимите заморозку на вашей странице программы «{sender}».",
        "channel_changed": "Коды и ссылки программы «{sender}» теперь приходят в {channel}, а не сюда. Если это "
        "сделали не вы, войдите на свою страницу по коду, верните прежний канал и нажмите «Выйти везде».",
        "channel_sms": "SMS",
        "channel_email": "e-mail",
        "channel_telegram": "Telegram",
        # messages the program sends on its own (services/reminders.py); the operator may replace these two
        "expiry_reminder": "До {date} включительно можно потратить {points} программы «{sender}» у любого партнёра, "
        "потом они сгорят.",
        "birthday_greeting": "{name}, с днём рождения! У вас {balance} — их можно потратить у любого партнёра "
        "программы «{sender}».",
        "unsubscribe": "Не присылать предложения: {url}",
        # messages after an event (services/customer_notes.py, services/campaign_offers.py); the operator may
        # replace these too
        "purchase_note": "«{partner}»: +{points} за покупку. Теперь у вас {balance} в программе «{sender}».",
        "tier_reached": "Поздравляем: у вас уровень «{tier}» в программе «{sender}» — баллов за покупки теперь больше.",
        "campaign_offer": "«{sender}»: для вас акция «{campaign}» в «{partner}».",
        "amocrm_broken": "«{sender}»: amoCRM отклонил ключ доступа интеграции (её отключили или удалили). Баллы в "
        "amoCRM не обновляются. Подключите amoCRM заново в кабинете партнёра: {url}",
        # a partner's CRM: the comment on the contact's timeline (services/crm_sync.py, amo_sync.py)
        "crm_accrued": "Начислено баллов: {points}",
        "crm_redeemed": "Списано баллов: {points}",
    },
    "en": {
        "sign_in": "{code} is your code to sign in to {sender}. Do not share it with anyone.",
        "staff_sign_in": "{code} is your staff sign-in code for {sender}. Do not share it with anyone.",
        "webhook_disabled": "{sender}: your webhook {url} was switched off: event {event} could not be delivered for "
        "three days. Fix it and register it again.",
        "spend": "{code} is your code to spend up to {points} at {partner}. Tell it to the cashier only if you "
        "are at the till now. Valid until {until}.",
        "bind": "{code} is your code to add {what} to your account at {partner}. If you did not ask for this, "
        "do not share the code.",
        "portal_link": "Your points at {sender}: {url}",
        "phone": "a phone",
        "card": "a card",
        "email": "an e-mail address",
        "telegram_linked": "Done: Telegram is connected to {sender}. To get codes and links here, choose Telegram "
        "in the settings on your page.",
        "telegram_invalid": "This link did not work: it has expired or was already used. Press "
        '"Connect Telegram" on your page again.',
        "telegram_taken": "This Telegram account is already connected to another account at {sender}. "
        "Disconnect it there first.",
        "spent_without_code": "{partner} spent {points} of your points without your code. Available: {balance}. "
        "If this was not you, see your page at {sender}.",
        "held_without_code": "{partner} held {points} of your points without your code, until {until}. "
        "Available: {balance}. If this was not you, release the hold on your page at {sender}.",
        "channel_changed": "Codes and links from {sender} now go to {channel}, no longer here. If this was not "
        'you, sign in to your page with a code, choose the old channel again and press "Sign out everywhere".',
        "channel_sms": "SMS",
        "channel_email": "e-mail",
        "channel_telegram": "Telegram",
        "expiry_reminder": "You can spend {points} from {sender} at any partner until {date}; after that they expire.",
        "birthday_greeting": "Happy birthday, {name}! You have {balance} to spend at any partner of {sender}.",
        "unsubscribe": "No more offers: {url}",
        "purchase_note": "{partner}: you earned {points}. You now have {balance} at {sender}.",
        "tier_reached": "Congratulations: you have reached the {tier} tier at {sender}, and earn more points now.",
        "campaign_offer": "{sender}: an offer for you, {campaign} at {partner}.",
        "amocrm_broken": "{sender}: amoCRM refused the integration's access (it was switched off or deleted). Points "
        "in amoCRM are not updated. Connect amoCRM again in the partner portal: {url}",
        "crm_accrued": "Points earned: {points}",
        "crm_redeemed": "Points spent: {points}",
    },
}
# the texts the operator may replace, per language
EDITABLE = ("expiry_reminder", "birthday_greeting", "purchase_note", "tier_reached", "campaign_offer")
MONTHS_RU = (
    "января", "февраля", "марта", "апреля", "мая", "июня",
    "июля", "августа", "сентября", "октября", "ноября", "декабря",
)  # fmt: skip
MONTHS_EN = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def _placeholders(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}


def check_templates(templates: dict[str, dict[str, str]]) -> None:
    """An operator's texts name only messages that may be replaced, and only the placeholders their defaults fill
    (a typo would otherwise fail every send, at night, in a job)."""
    for lang, texts in templates.items():
        for name, template in texts.items():
            where: list[str | int] = ["body", "messages", "templates", lang, name]
            if name not in EDITABLE:
                raise ValidationFailed.at(where, f"only {', '.join(EDITABLE)} can be replaced", "unknown_text")
            try:
                used = _placeholders(template)
            except ValueError as exc:
                raise ValidationFailed.at(where, f"not a valid text: {exc}", "invalid_text") from exc
            unknown = used - _placeholders(TEXTS[lang][name])
            if unknown:
                raise ValidationFailed.at(where, f"unknown placeholders: {', '.join(sorted(unknown))}", "invalid_text")
