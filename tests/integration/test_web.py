"""The coordinator's web page in a real browser (Debian's headless chromium through chromium-driver and
python3-selenium): log in with the URL from `renkei web`, publish a case through the form with
Japanese text and taxonomy choices, find it by a Japanese search, see it on a second node after
gossip, edit it and see the new version, a form with three mistakes shows three field errors in
Japanese and publishes nothing, the calendar shows an upcoming event in its month, and the national
view shows the count of the right prefecture; in English, the form's labels, choices and errors and
the calendar, a choice that survives a reload, no page wider than a narrow window; and the docs give
the page's real weight. The browser may reach only the node itself: the CSP
blocks everything else, and the test fails on any CSP violation or script error in the console.
Each test saves a screenshot under the build tree (build/screenshots/)."""

import contextlib
import datetime
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rk  # noqa: E402

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

SHOTS = os.path.join(os.path.dirname(os.path.abspath(rk.RENKEID)), "screenshots")
WAIT = 30


def make_browser():
    profile = tempfile.mkdtemp(prefix="rk-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--lang=ja-JP",
              "--window-size=1280,1400", "--no-proxy-server", "--disable-extensions", "--disable-background-networking",
              "--user-data-dir=" + profile):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    d.rk_profile = profile
    return d


def quit_browser(d):
    d.quit()
    shutil.rmtree(d.rk_profile, ignore_errors=True)


def login_url(node):
    """A new one-time login URL, as `renkei web` prints it."""
    out = node.cli("web").stdout.decode()
    return [w for w in out.split() if w.startswith("http://")][0]


class Page:
    """A browser logged in to one node."""

    def __init__(self, node):
        self.node = node
        self.d = make_browser()
        self.d.set_page_load_timeout(WAIT)
        self.login()

    def login(self):
        self.d.get(login_url(self.node))
        self.wait(lambda d: d.find_element(By.ID, "node").text.startswith("ノード:"), "the page after login")

    def wait(self, pred, what, timeout=WAIT):
        def ok(d):
            try:
                return pred(d)
            except Exception:
                return False
        try:
            return WebDriverWait(self.d, timeout, poll_frequency=0.1).until(ok)
        except Exception:
            raise AssertionError("timed out waiting for %s; page text:\n%s" % (what, self.text()[:2000]))

    def text(self):
        try:
            return self.d.find_element(By.TAG_NAME, "main").text
        except Exception:
            return ""

    def go(self, hash_):
        self.d.execute_script("location.hash = arguments[0]", hash_)

    def shot(self, name):
        os.makedirs(SHOTS, exist_ok=True)
        self.d.save_screenshot(os.path.join(SHOTS, name + ".png"))

    def console_problems(self):
        """Console errors (a CSP violation, a script error): the page must produce none."""
        # a 4xx answer the page handles (the form's validation errors) is logged as a failed load
        return [e for e in self.d.get_log("browser") if e["level"] == "SEVERE" and e.get("source") != "network"]

    def close(self):
        problems = self.console_problems()
        quit_browser(self.d)
        assert not problems, problems

    def field(self, path):
        return self.d.find_element(By.CSS_SELECTOR, '.field[data-path="%s"]' % path)

    def fill(self, path, text):
        e = self.field(path).find_element(By.CSS_SELECTOR, "input, textarea")
        e.clear()
        e.send_keys(text)

    def choose(self, path, label):
        Select(self.field(path).find_element(By.TAG_NAME, "select")).select_by_visible_text(label)

    def check(self, path, label):
        for lab in self.field(path).find_elements(By.CSS_SELECTOR, ".checks label"):
            if lab.text.strip() == label:
                lab.find_element(By.TAG_NAME, "input").click()
                return
        raise AssertionError("no choice %s in %s" % (label, path))

    def submit(self):
        self.d.find_element(By.ID, "submit").click()


def web_node(name, pref, gossip=False):
    port = rk.free_port()
    n = rk.Node(name=name, prefecture=pref, gossip=gossip, extra=["api.tcp=127.0.0.1:%d" % port])
    n.tcp_port = port
    return n


@contextlib.contextmanager
def page_on(n):
    """A browser logged in to the running node n. After the block the browser is closed (which fails
    on any console problem) and n is stopped, whatever happened."""
    try:
        p = Page(n)
        try:
            yield p
        finally:
            p.close()
    finally:
        n.stop()


def publish_case_through_form(p, title, summary):
    p.go("#/new/case")
    p.wait(lambda d: d.find_element(By.ID, "record-form"), "the case form")
    p.fill("case.title", title)
    p.fill("case.summary", summary)
    p.choose("case.prefecture", "石川県")
    p.choose("case.industry", "製造業（manufacturing）")
    p.choose("case.dx_level", label_of(p, "dx_level", "new_offering"))
    p.check("case.skills", "AI")
    p.check("case.skills", label_of(p, "skills", "robotics"))
    p.fill("case.tags", "リスキリング\nロボット")
    p.submit()
    p.wait(lambda d: "登録しました" in p.text() and d.find_element(By.CSS_SELECTOR, ".provenance"), "the new record's page")


def label_of(p, tax, code):
    return p.d.execute_script("return RK.codes[arguments[0]].find(c => c.code === arguments[1]).label_ja"
                              + (" + '（' + arguments[1] + '）'" if tax != "skills" else ""), tax, code)


def test_publish_search_gossip_edit():
    a = web_node("石川ノード", "17", gossip=True)
    b = web_node("三重ノード", "24", gossip=True)
    a.extra += ['peer "mie".key=' + b.key, 'peer "mie".url=' + b.url]
    b.extra += ['peer "ishikawa".key=' + a.key, 'peer "ishikawa".url=' + a.url]
    a.start()
    b.start()
    pa = Page(a)
    try:
        title = "金型工場の品質検査をAIで自動化"
        publish_case_through_form(pa, title, "熟練者の目視検査を画像AIに置き換え、検査員を改善リーダーに育てた。")
        page = pa.text()
        assert title in page and "石川県" in page and "製造業" in page and "検証済み" in page, page
        assert "石川ノード" in page, page  # the signing node, by its roster name
        pa.shot("web-record-published")
        recs = a.get(rk.query("/v1/records", kind="case")).json()["records"]
        assert len(recs) == 1 and recs[0]["case"]["industry"] == "manufacturing" and recs[0]["case"]["prefecture"] == "17"
        assert sorted(recs[0]["case"]["skills"]) == ["ai", "robotics"], recs[0]
        rec_id = recs[0]["id"]

        # a Japanese search finds it, as a card with the publishing region
        pa.go("#/")
        pa.wait(lambda d: d.find_element(By.CSS_SELECTOR, "input[name=q]"), "the search form")
        q = pa.d.find_element(By.CSS_SELECTOR, "input[name=q]")
        q.send_keys("品質検査")
        pa.d.find_element(By.CSS_SELECTOR, "form[role=search] button").click()
        pa.wait(lambda d: title in d.find_element(By.ID, "results").text, "the search result")
        assert "石川県" in pa.d.find_element(By.ID, "results").text
        pa.shot("web-search")

        # the second node receives it by gossip and shows it in its own page
        rk.wait_until(lambda: b.get("/v1/records/" + rec_id).status == 200, timeout=60, what="gossip to b")
        pb = Page(b)
        try:
            pb.go("#/record/" + rec_id)
            pb.wait(lambda d: title in pb.text(), "the record on node b")
            # the signer as b's roster names it; b cannot edit a's record
            assert "ishikawa" in pb.text() and "編集する" not in pb.text(), pb.text()
            pb.shot("web-record-on-second-node")
        finally:
            pb.close()

        # the network page shows the peer, its state and its last reconciliation
        pa.go("#/network")
        pa.wait(lambda d: "mie" in d.find_element(By.ID, "peers").text, "the peers table")
        row = pa.d.find_element(By.ID, "peers").text
        assert "接続中（connected）" in row and "まだ" not in row, row
        pa.shot("web-network")

        # edit: the new title and a new version
        old_version = a.get("/v1/records/" + rec_id).json()["version"]
        pa.go("#/edit/" + rec_id)
        pa.wait(lambda d: d.find_element(By.ID, "record-form") and pa.field("case.title").find_element(By.TAG_NAME, "input").get_attribute("value") == title, "the edit form")
        pa.fill("case.title", "金型工場の品質検査をAIで自動化（2年目）")
        pa.submit()
        pa.wait(lambda d: "更新しました" in pa.text(), "the updated record")
        assert "（2年目）" in pa.text()
        cur = a.get("/v1/records/" + rec_id).json()
        assert cur["case"]["title"].endswith("（2年目）") and cur["version"] > old_version, cur
        assert cur["case"]["skills"] == recs[0]["case"]["skills"]  # untouched fields survive the edit
        pa.shot("web-record-edited")
    finally:
        pa.close()
        a.stop()
        b.stop()


def test_three_mistakes_three_field_errors():
    n = web_node("加賀ノード", "17")
    n.start()
    with page_on(n) as p:
        p.go("#/new/case")
        p.wait(lambda d: d.find_element(By.ID, "record-form"), "the case form")
        # title, summary and industry left out; prefecture and DX level given
        p.choose("case.prefecture", "石川県")
        p.choose("case.dx_level", label_of(p, "dx_level", "efficiency"))
        p.submit()
        p.wait(lambda d: d.find_element(By.ID, "errors").is_displayed(), "the error summary")
        bad = p.d.find_elements(By.CSS_SELECTOR, ".field.has-error")
        paths = sorted(b.get_attribute("data-path") for b in bad)
        assert paths == ["case.industry", "case.summary", "case.title"], paths
        for b in bad:
            msg = b.find_element(By.CSS_SELECTOR, ".error").text
            assert "必須" in msg, msg
        assert "3 件の誤り" in p.d.find_element(By.ID, "errors").text
        assert n.get("/v1/records").json()["records"] == []
        p.shot("web-form-three-errors")


def event_node():
    """A node with an upcoming event and a cancelled one, 40 days ahead (Japan time)."""
    n = web_node("鳥羽ノード", "24")
    n.start()
    jst = datetime.timezone(datetime.timedelta(hours=9))
    day = (datetime.datetime.now(jst) + datetime.timedelta(days=40)).replace(hour=13, minute=0, second=0, microsecond=0)
    ev = {"title": "製造業DX勉強会（鳥羽）", "event_type": "seminar", "format": "onsite", "prefecture": "24",
          "starts_at": day.isoformat(), "ends_at": (day + datetime.timedelta(hours=2)).isoformat(),
          "date_precision": "time", "skills": ["ai"]}
    n.publish({"kind": "event", "event": ev})
    n.publish({"kind": "event", "event": dict(ev, title="中止になった交流会", status="cancelled")})
    return n, day


def test_calendar_and_national_view():
    n, day = event_node()
    n.publish(rk.sample_case(prefecture="24", title="三重の事例"))
    n.publish(rk.sample_case(prefecture="24", title="三重の事例その2"))
    with page_on(n) as p:
        month = day.strftime("%Y-%m")
        p.go("#/events?month=" + month)
        p.wait(lambda d: d.find_element(By.ID, "calendar").get_attribute("data-month") == month, "the calendar")
        cell = p.d.find_element(By.CSS_SELECTOR, '.day[data-day="%s"]' % day.strftime("%Y-%m-%d"))
        assert "製造業DX勉強会（鳥羽）" in cell.text, cell.text
        assert "【中止】中止になった交流会" in cell.text
        assert "%d年%d月" % (day.year, day.month) == p.d.find_element(By.ID, "cal-title").text
        upcoming = p.d.find_element(By.ID, "upcoming").text
        assert "製造業DX勉強会（鳥羽）" in upcoming and "中止" in upcoming
        p.shot("web-calendar")

        p.go("#/national")
        p.wait(lambda d: d.find_element(By.ID, "japan"), "the national view")
        p.shot("web-national")
        mie = p.d.find_element(By.CSS_SELECTOR, '.pref[data-pref="24"] .count').text
        assert mie == "4", mie
        assert p.d.find_element(By.CSS_SELECTOR, '.pref[data-pref="17"] .count').text == "0"
        industry = p.d.find_element(By.CSS_SELECTOR, '.bars[data-tax="industry"]').get_attribute("textContent")
        assert "製造業" in industry, industry

        for h, shot in (("#/regions", "web-regions"), ("#/network", "web-network-alone"), ("#/new/event", "web-form-event")):
            p.go(h)
            time.sleep(0.5)
            p.wait(lambda d: "読み込み中" not in p.text(), h)
            p.shot(shot)
            if h == "#/regions":  # the node, its record count and when it last published
                assert "レコード 4 件 ・ 最終更新 %d年" % datetime.date.today().year in p.text(), p.text()


def test_region_profile_event_by_fiscal_year_and_delete():
    n = web_node("七尾ノード", "17")
    n.start()
    with page_on(n) as p:
        # the region profile: its node kind and key industries as Japanese choices
        p.go("#/new/region")
        p.wait(lambda d: d.find_element(By.ID, "record-form").get_attribute("data-kind") == "region", "the region form")
        p.fill("region.name", "七尾市")
        p.choose("region.node_kind", label_of(p, "node_kind", "region"))
        p.choose("region.prefecture", "石川県")
        p.check("region.key_industries", "製造業")
        p.check("region.key_industries", label_of(p, "industry", "accommodation_food").split("（")[0])
        p.fill("region.issues", "若者の流出\n事業承継")
        p.submit()
        p.wait(lambda d: "登録しました" in p.text(), "the region profile's page")
        prof = n.get(rk.query("/v1/records", kind="region")).json()["records"]
        assert len(prof) == 1 and prof[0]["region"]["key_industries"] == ["manufacturing", "accommodation_food"], prof
        assert prof[0]["region"]["issues"] == ["若者の流出", "事業承継"]
        # a second visit to the form edits that profile rather than publishing another
        p.go("#/new/region")
        p.wait(lambda d: d.find_element(By.ID, "submit").text == "更新する", "the profile opened for editing")

        # an event known only by its fiscal year spans April to March, Japan time
        p.go("#/new/event")
        p.wait(lambda d: d.find_element(By.ID, "record-form").get_attribute("data-kind") == "event", "the event form")
        p.fill("event.title", "DX推進計画の報告会")
        p.choose("event.event_type", label_of(p, "event_type", "report_session"))
        Select(p.d.find_element(By.ID, "f-precision")).select_by_value("fiscal_year")
        p.d.find_element(By.ID, "f-starts-fy").send_keys("2027")
        p.choose("event.format", label_of(p, "format", "hybrid"))
        p.choose("event.prefecture", "石川県")
        p.d.find_element(By.CSS_SELECTOR, "input[name=visibility][value=network]").click()
        p.submit()
        p.wait(lambda d: "登録しました" in p.text() and "2027年度" in p.text(), "the event's page")
        ev = n.get(rk.query("/v1/records", kind="event")).json()["records"][0]
        assert ev["visibility"] == "network", ev
        assert ev["event"]["date_precision"] == "fiscal_year"
        assert ev["event"]["starts_at"].startswith("2027-04-01T00:00:00") and ev["event"]["ends_at"].startswith("2028-03-31T23:59:59"), ev

        # delete, after the confirmation (by way of another page, so that the wait below cannot find the
        # delete button of the page shown after publishing, which the record page then replaces)
        p.go("#/events")
        p.wait(lambda d: d.find_element(By.ID, "calendar"), "the events page")
        p.go("#/record/" + ev["id"])
        p.wait(lambda d: d.find_element(By.CSS_SELECTOR, "button.danger"), "the delete button")
        p.d.find_element(By.CSS_SELECTOR, "button.danger").click()
        alert = p.d.switch_to.alert
        assert "削除します" in alert.text
        alert.dismiss()  # cancelled: nothing happens
        assert n.get("/v1/records/" + ev["id"]).status == 200
        p.d.find_element(By.CSS_SELECTOR, "button.danger").click()
        p.d.switch_to.alert.accept()
        p.wait(lambda d: "削除しました" in p.text(), "the deletion notice")
        assert n.get("/v1/records/" + ev["id"]).status == 410
        p.shot("web-deleted")


def switch_language(p, lang, nav_search):
    p.d.find_element(By.ID, "lang-" + lang).click()
    p.wait(lambda d: d.find_element(By.CSS_SELECTOR, 'nav a[data-nav="search"]').text == nav_search, "the page in " + lang)
    assert p.d.find_element(By.ID, "lang-" + lang).get_attribute("aria-pressed") == "true"
    assert p.d.execute_script("return document.documentElement.lang") == lang


def field_label(p, path):
    """The label's own text, without its "required" mark."""
    lab = p.field(path).find_element(By.CSS_SELECTOR, "label, .label")
    return p.d.execute_script("return arguments[0].firstChild.textContent", lab)


def test_english_labels_persist_and_switch_back():
    """The language switch: English labels, choices, validation errors and calendar; the choice
    survives a reload and reaches the login page; Japanese comes back, and what a form holds and the
    errors it shows follow the switch without being lost."""
    n, day = event_node()
    with page_on(n) as p:
        assert p.d.find_element(By.ID, "lang-ja").get_attribute("aria-pressed") == "true"  # Japanese by default
        assert p.d.find_element(By.ID, "lang").get_attribute("aria-label") == "表示する言語"
        p.go("#/new/case")
        p.wait(lambda d: d.find_element(By.ID, "record-form"), "the case form")
        switch_language(p, "en", "Search")
        assert p.d.find_element(By.ID, "node").text == "Node: 鳥羽ノード (Mie)"
        assert p.d.find_element(By.ID, "lang").get_attribute("aria-label") == "Language"

        # the publish form: labels, hints, taxonomy choices and the visibility explained in English
        p.wait(lambda d: field_label(p, "case.title") == "Title", "the English labels")
        assert p.field("case.title").find_element(By.CSS_SELECTOR, ".req").text == "required"
        assert p.d.find_element(By.TAG_NAME, "h1").text == "Publish: Case"
        assert field_label(p, "case.industry") == "Industry" and field_label(p, "case.skills") == "Skills"
        assert "e.g. 17206" in p.field("case.municipality").text
        p.choose("case.industry", "Manufacturing (manufacturing)")
        p.choose("case.prefecture", "Ishikawa")
        p.choose("case.dx_level", "New products and services (new_offering)")
        p.check("case.skills", "Robotics")
        p.check("case.target_layers", "Site leaders")
        assert "Network only — reaches member nodes only" in p.field("visibility").text
        assert not any(0x3040 <= ord(c) <= 0x30ff for c in p.d.find_element(By.ID, "record-form").text), \
            "kana left in the English form"

        # a validation error from the API, at its field and in English; nothing published
        p.fill("case.place_name", "加賀市")
        p.submit()
        p.wait(lambda d: d.find_element(By.ID, "errors").is_displayed(), "the error summary")
        bad = sorted(b.get_attribute("data-path") for b in p.d.find_elements(By.CSS_SELECTOR, ".field.has-error"))
        assert bad == ["case.summary", "case.title"], bad
        msg = p.field("case.title").find_element(By.CSS_SELECTOR, ".error").text
        assert msg == "“Title” is required [missing_field]", msg
        assert p.d.find_element(By.ID, "errors").text.startswith("2 mistakes found."), p.d.find_element(By.ID, "errors").text
        assert n.get("/v1/records?kind=case").json()["records"] == []
        p.shot("web-form-errors-en")

        # switching language redraws the form with what was typed and the errors, now in Japanese
        switch_language(p, "ja", "探す")
        p.wait(lambda d: "必須です" in p.field("case.title").find_element(By.CSS_SELECTOR, ".error").text, "the errors in Japanese")
        msg = p.field("case.title").find_element(By.CSS_SELECTOR, ".error").text
        assert msg == "「タイトル」 は必須です [missing_field]", msg
        assert Select(p.field("case.prefecture").find_element(By.TAG_NAME, "select")).first_selected_option.text == "石川県"
        assert p.field("case.place_name").find_element(By.TAG_NAME, "input").get_attribute("value") == "加賀市"
        assert [b.get_attribute("value") for b in p.field("case.skills").find_elements(By.CSS_SELECTOR, "input:checked")] == ["robotics"]
        switch_language(p, "en", "Search")
        p.wait(lambda d: "is required" in p.field("case.title").find_element(By.CSS_SELECTOR, ".error").text, "the errors back in English")

        # the calendar: month and weekday names, the cancelled mark, dates in the upcoming list
        month = day.strftime("%Y-%m")
        p.go("#/events?month=" + month)
        p.wait(lambda d: d.find_element(By.ID, "calendar").get_attribute("data-month") == month, "the calendar")
        assert p.d.find_element(By.ID, "cal-title").text == day.strftime("%B %Y")  # "January 2027"
        dows = [e.text for e in p.d.find_elements(By.CSS_SELECTOR, "#calendar .dow")]
        assert dows == ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"], dows
        cell = p.d.find_element(By.CSS_SELECTOR, '.day[data-day="%s"]' % day.strftime("%Y-%m-%d")).text
        assert "[Cancelled] 中止になった交流会" in cell, cell
        upcoming = p.d.find_element(By.ID, "upcoming").text
        assert "Cancelled" in upcoming and "Event" in upcoming and "%d %s %d" % (day.day, day.strftime("%B"), day.year) in upcoming, upcoming
        assert "Mie" in upcoming and "published by 鳥羽ノード" in upcoming, upcoming
        p.shot("web-calendar-en")

        # a record's page: its fields and provenance
        p.d.find_element(By.LINK_TEXT, "製造業DX勉強会（鳥羽）").click()
        p.wait(lambda d: d.find_element(By.CSS_SELECTOR, ".provenance"), "the event's page")
        page = p.text()
        for words in ("Event type\nSeminar", "Format\nOn site", "Prefecture\nMie", "Skills\nAI",
                      "Provenance (who signed it)", "Verified — this node checked the Ed25519 signature"):
            assert words in page, (words, page)
        p.shot("web-record-en")

        # the national view: prefectures in romaji, charts with English labels
        p.go("#/national")
        p.wait(lambda d: d.find_element(By.ID, "japan"), "the national view")
        assert p.d.find_element(By.CSS_SELECTOR, '.pref[data-pref="24"]').text.split() == ["2", "Mie"]
        assert p.d.find_element(By.CSS_SELECTOR, '.bars[data-tax="skills"]').get_attribute("textContent").startswith("AI")
        p.shot("web-national-en")
        p.go("#/network")
        p.wait(lambda d: "This node" in p.text(), "the network page")
        p.shot("web-network-en")

        # longer English words must not push any page wider than a narrow window (a tablet, a half
        # screen): no sideways scrolling on the pages with the widest content
        p.d.set_window_size(760, 1000)
        for h in ("#/new/event", "#/events?month=" + month, "#/national", "#/network", "#/"):
            p.go(h)
            time.sleep(0.5)
            p.wait(lambda d: "Loading" not in p.text() and d.find_element(By.TAG_NAME, "h1"), h)
            width, window = p.d.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
            assert width <= window, (h, width, window)
            if h == "#/national":
                p.shot("web-national-narrow-en")
        p.d.set_window_size(1280, 1400)

        # the choice survives a reload, and the login page follows it
        p.d.refresh()
        p.wait(lambda d: d.find_element(By.ID, "node").text.startswith("Node:"), "the page after a reload")
        assert p.d.find_element(By.CSS_SELECTOR, 'nav a[data-nav="new"]').text == "Publish"
        assert p.d.execute_script("return localStorage.getItem('renkei.lang')") == "en"
        p.go("#/events?month=" + month)
        p.wait(lambda d: d.find_element(By.ID, "cal-title").text == day.strftime("%B %Y"), "the English calendar after a reload")
        p.d.get("http://127.0.0.1:%d/login" % n.tcp_port)
        body = p.d.find_element(By.TAG_NAME, "body").text
        assert "To use this page you need a login URL." in body and "renkei web" in body, body
        assert p.d.title == "Log in — renkei"
        p.shot("web-login-page-en")
        p.d.find_element(By.ID, "lang-ja").click()
        p.wait(lambda d: "ログイン用のURLが必要です" in d.find_element(By.TAG_NAME, "body").text, "the login page in Japanese")

        # back to Japanese everywhere, remembered too
        p.d.get("http://127.0.0.1:%d/#/events?month=%s" % (n.tcp_port, month))
        p.wait(lambda d: d.find_element(By.ID, "cal-title").text == "%d年%d月" % (day.year, day.month), "the Japanese calendar")
        assert [e.text for e in p.d.find_elements(By.CSS_SELECTOR, "#calendar .dow")][:2] == ["日", "月"]
        assert p.d.find_element(By.ID, "node").text == "ノード: 鳥羽ノード（三重県）"
        p.shot("web-calendar-ja")


def test_page_weight_in_the_docs():
    """The docs give the page's weight file by file: they must say what the files weigh now."""
    web = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "web")
    docs = os.path.join(web, "..", "docs")
    size = {f: os.path.getsize(os.path.join(web, f)) for f in ("index.html", "app.css", "i18n.js", "app.js",
                                                                "login.html", "login.css")}
    page = size["index.html"] + size["app.css"] + size["i18n.js"] + size["app.js"]
    login = size["login.html"] + size["login.css"] + size["i18n.js"]
    with open(os.path.join(docs, "guide-coordinator.md"), encoding="utf-8") as f:
        guide = " ".join(f.read().split())
    with open(os.path.join(docs, "operator-guide.md"), encoding="utf-8") as f:
        ops = " ".join(f.read().split())
    for words in ["合わせて {:,} バイト".format(page), "{:,} バイト（login.html".format(login)] + \
            ["{} {:,}".format(f, n) for f, n in size.items()]:
        assert words in guide, "docs/guide-coordinator.md lacks %r (run wc -c web/*)" % words
    assert "it weighs {:,} bytes".format(page) in ops, "docs/operator-guide.md: the page weighs %d bytes" % page


def test_login_url_once_in_browser():
    n = web_node("一度きり", "17")
    n.start()
    d = make_browser()
    try:
        url = login_url(n)
        d.get(url)
        WebDriverWait(d, WAIT).until(lambda d: d.find_element(By.ID, "node").text.startswith("ノード:"))
        d.delete_all_cookies()
        d.get(url)  # the same URL again: the login page, no session
        assert "/login" in d.current_url and "renkei web" in d.find_element(By.TAG_NAME, "body").text
        d.get(url.split("/login")[0] + "/")
        assert d.current_url.endswith("/login")
        os.makedirs(SHOTS, exist_ok=True)
        d.save_screenshot(os.path.join(SHOTS, "web-login-page.png"))
    finally:
        quit_browser(d)
        n.stop()


if __name__ == "__main__":
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        raise SystemExit("chromium and chromium-driver are required (deploy/install-deps.sh)")
    rk.run_tests(globals())
