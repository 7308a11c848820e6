"""The partner portal in Debian's Chromium, from sign-in to an awarding campaign and the settlement."""

from playwright.sync_api import expect

from tests.browser.conftest import screenshot


def sign_in(page, live, key):
    page.goto(f"{live.url}/portal")
    page.get_by_label("API-ключ").fill(key)
    page.get_by_role("button", name="Войти").click()
    expect(page.get_by_text("Ждут вашего согласия")).to_have_count(1)


def sign_out(page):
    page.get_by_role("button", name="Выйти").click()
    expect(page.get_by_label("API-ключ")).to_have_count(1)


def test_a_manager_runs_a_cross_promo_without_code(live, phone):
    op = live.operator_key
    cafe = live.request("POST", "/v1/admin/partners", op, {"name": "Уют", "category": "cafe"}).json()
    store = live.request("POST", "/v1/admin/partners", op, {"name": "Стиль", "category": "clothing"}).json()

    sign_in(phone, live, cafe["api_key"])
    assert "lp_session" in {c["name"] for c in phone.context.cookies()}
    session = next(c for c in phone.context.cookies() if c["name"] == "lp_session")
    assert session["httpOnly"] and session["sameSite"] == "Strict" and cafe["api_key"] not in session["value"]
    screenshot(phone, "portal-dashboard")

    phone.get_by_role("link", name="Новая акция").click()
    phone.get_by_label("Название").fill("Из Стиля в Уют")
    phone.get_by_label("Покупатели партнёра").select_option(label="Стиль")
    phone.get_by_label("купившие за последние (дней)").fill("30")
    phone.get_by_label("Размер").fill("100")
    phone.get_by_label("Бюджет, баллов").fill("30000")
    phone.get_by_label("Наград на покупателя").fill("1")
    screenshot(phone, "portal-new-campaign")
    phone.get_by_role("button", name="Проверить").click()
    expect(phone.get_by_test_id("preview")).to_be_visible()
    preview = phone.get_by_test_id("preview").inner_text()
    assert preview == (
        "Покупатели «Стиль», купившие у них за последние 30 дн., получат 100 баллов за первую покупку "
        "в «Уют»; вы платите до 30\u00a0000\u00a0₽."
    )
    screenshot(phone, "portal-preview")
    phone.get_by_role("button", name="Создать акцию").click()
    expect(phone.get_by_test_id("status")).to_have_text("ждёт согласия")
    assert phone.get_by_test_id("awaiting").inner_text() == "Стиль"
    assert phone.get_by_role("button", name="Запустить").count() == 0  # not before the store has accepted
    assert phone.get_by_test_id("answer-Стиль").inner_text() == "ещё не ответил"
    campaign_url = phone.url
    sign_out(phone)

    sign_in(phone, live, store["api_key"])
    inbox = phone.get_by_test_id("inbox")
    assert "Из Стиля в Уют" in inbox.inner_text()
    inbox.get_by_role("link", name="Из Стиля в Уют").click()
    assert "платит «Уют», до 30\u00a0000\u00a0₽" in phone.get_by_test_id("description").inner_text()
    phone.get_by_role("button", name="Принять").focus()
    phone.keyboard.press("Enter")  # keyboard only
    expect(phone.get_by_role("button", name="Принять")).to_have_count(0)
    expect(phone.get_by_test_id("awaiting")).to_have_count(0)
    expect(phone.get_by_test_id("answer-Стиль")).to_have_text("согласился")
    sign_out(phone)

    sign_in(phone, live, cafe["api_key"])
    phone.goto(campaign_url)
    phone.get_by_role("button", name="Запустить").click()
    expect(phone.get_by_test_id("status")).to_have_text("идёт")

    # purchases through the API, as the tills would make them
    ck, sk = cafe["api_key"], store["api_key"]
    cid = live.request("POST", "/v1/customers", sk, {"phone": "+79161234567"}).json()["customer_id"]
    live.request("POST", "/v1/accruals", sk, {"customer_id": cid, "order_id": "S-1", "amount_minor": 500_000})
    got = live.request("POST", "/v1/accruals", ck, {"customer_id": cid, "order_id": "C-1", "amount_minor": 60_000})
    assert got.json()["bonus_points"] == 100
    phone.reload()
    expect(phone.get_by_test_id("report-0")).to_have_text("1")  # awards
    assert phone.get_by_test_id("report-3").inner_text() == "100"  # points awarded
    assert phone.locator("svg rect.chart-bar").count() == 1  # the chart over time
    assert phone.locator("svg rect.chart-bar").bounding_box()["height"] > 12  # its own height, not the tier bar's
    screenshot(phone, "portal-campaign-report")

    phone.get_by_role("link", name="Расчёты").click()
    expect(phone.get_by_test_id("net-amount")).to_be_visible()
    net = phone.get_by_test_id("net-amount").inner_text()
    api = live.request("GET", "/v1/settlements/2026-03", ck).json()
    assert api["net_amount_minor"] == -13_000 and net == "−130\u00a0₽"  # 30 issued + 100 promo points, owed
    assert (
        phone.get_by_text("Вы должны коалиции").count() == 1
        and phone.get_by_test_id("net-sign").inner_text() == "вы должны"
    )
    assert "март 2026" in phone.get_by_test_id("month").inner_text()
    with phone.expect_download() as download:
        phone.get_by_role("link", name="Скачать CSV").click()
    assert download.value.suggested_filename == "settlement-Уют-2026-03.csv"  # the same name as from the API
    table = download.value.path().read_text(encoding="utf-8-sig")
    assert table.startswith("ID партнёра;Партнёр;") and "+ оператор платит партнёру" in table  # headers, legend
    screenshot(phone, "portal-settlement")

    phone.get_by_role("link", name="English").click()
    expect(phone.get_by_text("Partner portal")).to_have_count(1)
    phone.get_by_role("button", name="Sign out").click()
    expect(phone.get_by_label("API key")).to_have_count(1)
    phone.goto(campaign_url)
    expect(phone.get_by_label("API key")).to_have_count(1)  # signed out: no data
    assert "Из Стиля в Уют" not in phone.content()


def test_forms_without_a_valid_csrf_token_are_refused(live, phone):
    op = live.operator_key
    cafe = live.request("POST", "/v1/admin/partners", op, {"name": "Уют"}).json()
    sign_in(phone, live, cafe["api_key"])
    response = phone.request.post(f"{live.url}/portal/campaigns/preview", form={"csrf": "forged", "name": "X"})
    assert response.status == 403 and "preview" not in response.text()


def test_the_portal_uses_a_desktop_screen_and_stays_one_column_on_a_phone(live, browser, phone):
    op = live.operator_key
    cafe = live.request("POST", "/v1/admin/partners", op, {"name": "Уют"}).json()
    desktop = browser.new_page(viewport={"width": 1280, "height": 800})
    try:
        sign_in(desktop, live, cafe["api_key"])
        assert desktop.locator("main").bounding_box()["width"] >= 1000  # not a 528-px column
        yours, invitations = desktop.get_by_test_id("yours"), desktop.get_by_test_id("invitations")
        left, right = yours.bounding_box(), invitations.bounding_box()
        assert right["x"] > left["x"] + left["width"] - 1 and abs(right["y"] - left["y"]) < 2  # side by side
        desktop.goto(f"{live.url}/portal/campaigns/new")
        assert desktop.locator("main").bounding_box()["width"] >= 1000
    finally:
        desktop.close()
    sign_in(phone, live, cafe["api_key"])
    main = phone.locator("main").bounding_box()
    assert main["width"] <= 390
    yours, invitations = (
        phone.get_by_test_id("yours").bounding_box(),
        phone.get_by_test_id("invitations").bounding_box(),
    )
    assert invitations["y"] >= yours["y"] + yours["height"]  # one column
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # nothing overflows sideways
