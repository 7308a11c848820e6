"""Messages the program sends on its own: a reminder before points expire (to everyone a channel reaches, once, in
their language, never in quiet hours) and a birthday greeting (only with marketing consent, within the weekly cap,
with a one-click unsubscribe). The hourly job is called directly, on the test's clock."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import TRUSTED, inbox
from tests.test_api_ledger import accrue, enrol


def run(clock):
    from chalicelib.services import reminders

    return reminders.run(clock.now())


@pytest.fixture
def earned(coalition, clock):
    """Anna (Russian) and Bob (English) earn 100 points each on 2026-03-10: they expire with March 2027."""
    anna = enrol(coalition.cafe, phone="+79161234567")
    bob = enrol(coalition.cafe, phone="+79161234568", locale="en")
    assert accrue(coalition.cafe, anna, "A-1", 200_000)["points"] == 100
    assert accrue(coalition.cafe, bob, "B-1", 200_000)["points"] == 100
    return anna, bob


def reminders_to(phone):
    return [m.text for m in inbox("expiry_reminder", phone)]


def test_a_week_before_points_expire_each_customer_gets_one_reminder_in_their_language(earned, clock):
    clock.set(datetime(2027, 3, 24, 9, 0, tzinfo=UTC))  # 12:00 in Moscow, eight days before: not yet
    assert run(clock).reminders == 0
    clock.set(datetime(2027, 3, 25, 9, 0, tzinfo=UTC))  # seven days before the end of March 31
    assert run(clock).reminders == 2
    assert reminders_to("+79161234567") == [
        "До 31 марта включительно можно потратить 100 баллов программы «Программа лояльности» у любого партнёра, "
        "потом они сгорят."
    ]
    assert reminders_to("+79161234568") == [
        "You can spend 100 points from Программа лояльности at any partner until 31 March; after that they expire."
    ]
    for hours in (1, 24, 48):  # the hourly job runs again and again: nobody hears twice
        clock.set(datetime(2027, 3, 25, 9, 0, tzinfo=UTC) + timedelta(hours=hours))
        run(clock)
    assert len(reminders_to("+79161234567")) == len(reminders_to("+79161234568")) == 1


def test_the_reminder_names_only_the_points_that_expire_and_not_spent_ones(coalition, earned, clock):
    anna, bob = earned
    clock.set(datetime(2026, 4, 10, 9, 0, tzinfo=UTC))
    assert accrue(coalition.cafe, anna, "A-2", 200_000)["points"] == 100  # expires with April 2027
    redeemed = coalition.store.post(
        "/v1/redemptions",
        {"customer_id": anna, "order_id": "S-1", "order_amount_minor": 100_000, "points": 79},
    )
    assert redeemed.status == 201, redeemed.json  # earliest expiry first: 21 of March's 100 remain
    spent = {"customer_id": bob, "order_id": "S-2", "order_amount_minor": 100_000, "points": 100}
    assert coalition.store.post("/v1/redemptions", spent).status == 201  # Bob has nothing left to lose
    clock.set(datetime(2027, 3, 26, 9, 0, tzinfo=UTC))
    run(clock)
    assert reminders_to("+79161234567") == [
        "До 31 марта включительно можно потратить 21 балл программы «Программа лояльности» у любого партнёра, "
        "потом они сгорят."
    ]
    assert reminders_to("+79161234568") == []


def test_nothing_goes_out_in_quiet_hours_and_the_first_run_after_them_sends(earned, clock):
    clock.set(datetime(2027, 3, 25, 19, 0, tzinfo=UTC))  # 22:00 in Moscow
    assert run(clock).quiet and inbox("expiry_reminder") == []
    clock.set(datetime(2027, 3, 26, 5, 30, tzinfo=UTC))  # 08:30: still quiet
    assert run(clock).quiet and inbox("expiry_reminder") == []
    clock.set(datetime(2027, 3, 26, 6, 5, tzinfo=UTC))  # 09:05
    assert run(clock).reminders == 2


def test_a_failed_send_is_tried_again_by_the_next_run(earned, clock, monkeypatch):
    from chalicelib.errors import Unavailable
    from chalicelib.services import customer_messages

    clock.set(datetime(2027, 3, 25, 9, 0, tzinfo=UTC))
    real_send = customer_messages.send

    def down(*args, **kwargs):
        raise Unavailable("the SMS gateway is down")

    monkeypatch.setattr(customer_messages, "send", down)
    assert run(clock).failed == 2
    monkeypatch.setattr(customer_messages, "send", real_send)
    clock.advance(timedelta(hours=1))
    assert run(clock).reminders == 2 and len(reminders_to("+79161234567")) == 1


def test_the_operator_sets_the_days_the_quiet_hours_and_the_texts(coalition, earned, clock):
    settings = {
        "expiry_reminder_days": 3,
        "quiet_from_hour": 22,
        "quiet_to_hour": 8,
        "templates": {"ru": {"expiry_reminder": "{points} сгорят после {date}. {sender}"}},
    }
    r = coalition.operator.call("PUT", "/v1/admin/program", {"messages": settings})
    assert r.status == 200, r.json
    assert r["messages"]["expiry_reminder_days"] == 3 and r["messages"]["marketing_per_week"] == 2
    clock.set(datetime(2027, 3, 25, 9, 0, tzinfo=UTC))
    assert run(clock).reminders == 0  # seven days before: not with 3
    clock.set(datetime(2027, 3, 29, 5, 30, tzinfo=UTC))  # 08:30 in Moscow: quiet hours now end at 08:00
    assert run(clock).reminders == 2
    assert reminders_to("+79161234567") == ["100 баллов сгорят после 31 марта. Программа лояльности"]
    assert reminders_to("+79161234568")[0].startswith("You can spend 100 points")  # English keeps its default
    partial = coalition.operator.call("PUT", "/v1/admin/program", {"messages": {"marketing_per_week": 1}})
    assert partial["messages"]["expiry_reminder_days"] == 3  # what the change leaves out keeps its value


@pytest.mark.parametrize(
    ("templates", "field"),
    [
        ({"ru": {"expiry_reminder": "{points} {balanse}"}}, "expiry_reminder"),  # a typo would fail every send
        ({"ru": {"sign_in": "{code}"}}, "sign_in"),  # codes' texts are not the operator's to change
        ({"en": {"birthday_greeting": "Hi {"}}, "birthday_greeting"),
    ],
)
def test_a_text_the_job_could_not_fill_is_refused_when_saved(coalition, templates, field):
    r = coalition.operator.call("PUT", "/v1/admin/program", {"messages": {"templates": templates}})
    assert r.status == 422 and r["errors"][0]["loc"][-1] == field, r.json
    assert coalition.operator.get("/v1/admin/program")["messages"]["templates"] == {}


def test_a_partner_cannot_change_the_messages(coalition):
    r = coalition.cafe.call("PUT", "/v1/admin/program", {"messages": {"quiet_from_hour": 0, "quiet_to_hour": 0}})
    assert r.status == 403


class TestBirthdays:
    def enrol_born(self, client, phone, consent, **extra):
        body = {"phone": phone, "birthday": "1990-03-12", "marketing_consent": consent, **extra}
        r = client.post("/v1/customers", body)
        assert r.status == 201, r.json
        return r["customer_id"]

    def test_only_customers_who_agreed_get_a_greeting_once_with_an_unsubscribe_link(self, coalition, clock):
        from chalicelib import runtime

        runtime.configure(
            runtime.get().settings.__class__(**{**vars(runtime.get().settings), "public_base_url": "https://l.ru"}),
            clock,
        )
        yes = self.enrol_born(coalition.cafe, "+79161234567", True, name="Анна")
        self.enrol_born(coalition.cafe, "+79161234568", False, name="Борис")
        clock.set(datetime(2026, 3, 12, 9, 0, tzinfo=UTC))
        assert run(clock).greetings == 1
        run(clock)
        greetings = inbox("birthday_greeting")
        assert [m.to for m in greetings] == ["+79161234567"]
        text = greetings[0].text
        assert text.startswith("Анна, с днём рождения! У вас 0 баллов") and "https://l.ru/me/unsubscribe?c=" in text
        url = text.split("Не присылать предложения: ")[1]
        page = coalition.operator.http.get(url[len("https://l.ru") :], headers={"Accept": "text/html"})
        assert page.status_code == 200 and "Отписаться" in page.body.decode()
        from chalicelib.services import reminders

        token = url.split("t=")[1]
        form = f"c={yes}&t={token}"
        done = coalition.operator.http.post(
            "/me/unsubscribe", body=form, headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        assert done.status_code == 200
        from chalicelib.db import customers as customers_db

        assert customers_db.load(yes).marketing_consent is False
        assert not reminders.withdraw_consent(yes, "0" * 32)

    def test_a_forged_unsubscribe_changes_nothing(self, coalition, clock):
        from chalicelib.db import customers as customers_db

        yes = self.enrol_born(coalition.cafe, "+79161234567", True)
        r = coalition.operator.http.post(
            "/me/unsubscribe",
            body=f"c={yes}&t={'0' * 32}",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert r.status_code == 400 and "Ссылка не подошла" in r.body.decode()
        assert customers_db.load(yes).marketing_consent is True

    def test_the_weekly_cap_holds_marketing_back(self, coalition, clock):
        from chalicelib.db import messages as messages_db
        from chalicelib.domain.messaging import week_of

        coalition.operator.call("PUT", "/v1/admin/program", {"messages": {"marketing_per_week": 1}})
        yes = self.enrol_born(coalition.cafe, "+79161234567", True)
        clock.set(datetime(2026, 3, 12, 9, 0, tzinfo=UTC))
        assert messages_db.count_marketing(yes, week_of(clock.now(), "Europe/Moscow"), 1, clock.now())
        assert run(clock).greetings == 0 and inbox("birthday_greeting") == []

    def test_a_deleted_account_is_not_greeted(self, coalition, clock):
        from chalicelib.db import customers as customers_db

        yes = self.enrol_born(coalition.cafe, "+79161234567", True)
        customer = customers_db.load(yes)
        from chalicelib import db

        tx = db.Transaction()
        customers_db.erase(tx, customer, clock.now().isoformat(), pointless=False)
        tx.commit(db.connection())
        clock.set(datetime(2026, 3, 12, 9, 0, tzinfo=UTC))
        assert run(clock).greetings == 0


def test_the_29th_of_february_is_kept_on_the_28th_in_other_years():
    from datetime import date

    from chalicelib.domain.messaging import birthday_on

    assert birthday_on("2000-02-29", date(2027, 2, 28)) and not birthday_on("2000-02-29", date(2027, 3, 1))
    assert birthday_on("2000-02-29", date(2028, 2, 29)) and not birthday_on("2000-02-29", date(2028, 2, 28))


def _behind_a_return_window(api, pending_days):
    assert api.call("PUT", "/v1/admin/program", {"expiry_months": 1}).status == 200
    body = {"name": "Маркет", "pending_days": pending_days, "earn_rate_bps": 500, **TRUSTED}
    shop = api.as_key(api.post("/v1/admin/partners", body)["api_key"])
    return shop, enrol(shop, phone="+79160000001")


@pytest.mark.parametrize(
    ("pending_days", "week_before", "expires_on"),
    [
        (60, datetime(2026, 6, 24, 9, tzinfo=UTC), "2026-06-30"),
        (14, datetime(2026, 4, 24, 9, tzinfo=UTC), "2026-04-30"),
    ],
)
def test_an_idle_customer_is_reminded_of_points_that_matured_from_a_return_window(
    api, clock, pending_days, week_before, expires_on
):
    """Bought on 10 March behind a return window, spendable once it ends; she made no write since, so the matured
    points still sit pending on her item: the reminder must count them as her balance does."""
    shop, cid = _behind_a_return_window(api, pending_days)
    assert accrue(shop, cid, "M-1", 100_000).status == 201
    clock.set(week_before)
    b = shop.get(f"/v1/customers/{cid}/balance").json
    assert b["expiring"] == [{"points": 50, "expires_on": expires_on}], b
    run(clock)
    assert reminders_to("+79160000001"), f"no reminder for 50 points expiring {expires_on}"
