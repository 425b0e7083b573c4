"""Publishing without hand-written JSON: `renkei publish` with Japanese labels, prefecture names and a
BOM, every mistake of a record reported at once with suggestions (API details and CLI output), and
`renkei import` of CSV files (UTF-8 with BOM, CP932 as Excel saves it, bad rows, re-import of an
export with one title edited), `renkei codes` and `renkei new` templates read back by publish."""

import csv
import io
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster  # noqa: E402
import rk  # noqa: E402

def node():
    return cluster.shared_node("import-test")


def run(*args, env=None, input=None):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([rk.RENKEI, "-s", node().socket] + list(args), capture_output=True, timeout=60, env=e,
                          input=input)



def by_tag(tag):
    res = node().get(rk.query("/v1/records", q=tag, limit=100)).json()
    return [r for r in res["records"] if tag in r.get(r["kind"], {}).get("tags", [])]


HEADER = ["kind", "prefecture", "title", "summary", "industry", "dx_level", "skills", "tags", "starts_at",
          "ends_at", "event_type", "format"]


def csv_bytes(rows, encoding="utf-8", bom=False):
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(HEADER)
    for r in rows:
        w.writerow([r.get(h, "") for h in HEADER])
    data = out.getvalue().encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def good_rows(tag):
    return [
        {"kind": "case", "prefecture": "石川県", "title": "樹脂食器メーカーのEC立ち上げ", "summary": "社員がECを担当。",
         "industry": "製造業", "dx_level": "new_offering", "skills": "AI; digital_marketing", "tags": tag},
        {"kind": "case", "prefecture": "34", "title": "ITパスポート受験支援", "summary": "県が受験料を補助。",
         "industry": "S", "dx_level": "culture", "skills": "it_passport", "tags": tag},
        {"kind": "event", "prefecture": "佐賀", "title": "スマート化セミナー", "starts_at": "2031-09-10T13:00:00+09:00",
         "ends_at": "2031-09-10T16:00:00+09:00", "event_type": "セミナー", "format": "Online", "tags": tag},
    ]


def test_publish_accepts_labels_names_case_and_bom():
    rec = {"kind": "case", "case": {"title": "ラベルで書いた事例", "summary": "製造業の事例。", "prefecture": "石川県",
                                    "industry": "製造業", "dx_level": "付加価値" and "value_add", "skills": ["AI", "ＩｏＴ"],
                                    "tags": ["labels-ok"]}}
    path = cluster.temp_file(b"\xef\xbb\xbf" + json.dumps(rec, ensure_ascii=False).encode(), ".json")
    p = run("--json", "publish", path)
    assert p.returncode == 0, p.stderr.decode()
    rid = json.loads(p.stdout)["id"]
    got = node().get("/v1/records/" + rid).json()["case"]
    # the record holds the canonical codes
    assert got["prefecture"] == "17" and got["industry"] == "manufacturing", got
    assert got["skills"] == ["ai", "iot"], got
    # the API itself takes the aliases and a BOM too (curl, the web page)
    body = b"\xef\xbb\xbf" + json.dumps({"kind": "case", "case": dict(rec["case"], prefecture="石川", title="API経由")},
                                        ensure_ascii=False).encode()
    r = node().request("POST", "/v1/records", body, headers={"Content-Type": "application/json"})
    assert r.status == 201, r
    assert node().get("/v1/records/" + r.json()["id"]).json()["case"]["prefecture"] == "17"
    ja = {"LANG": "ja_JP.UTF-8", "LC_ALL": "", "LC_MESSAGES": ""}
    p = run("publish", cluster.temp_file(json.dumps(dict(rec, case=dict(rec["case"], title="日本語の出力"))).encode(), ".json"),
            env=ja)
    assert p.returncode == 0 and "登録しました" in p.stdout.decode() and "id " in p.stdout.decode(), p
    p = run("publish", cluster.temp_file(b'{"kind": "case",\n "case": {"title": }}', ".json"), env=ja)
    assert p.returncode == 1 and "JSON として読めません" in p.stderr.decode() and "2 行目" in p.stderr.decode(), p


def test_four_mistakes_listed_at_once_with_suggestions():
    rec = {"kind": "case", "case": {"title": "誤りの多い事例", "summary": "四つの誤り。", "prefecture": "石河県",
                                    "industry": "manufactring", "dx_level": "valueadd", "skills": ["AI", "robotcs"]}}
    api = node().request("POST", "/v1/records", rec)
    assert api.status == 400, api
    err = api.json()["error"]
    # error.code and error.message stay the first problem's
    assert err["code"] in ("invalid_enum", "invalid_prefecture") and err["message"], err
    details = {d["field"]: d for d in err["details"]}
    assert set(details) == {"case.prefecture", "case.industry", "case.dx_level", "case.skills[1]"}, details
    assert details["case.prefecture"]["suggestion"] == "17"
    assert details["case.industry"]["suggestion"] == "manufacturing"
    assert details["case.dx_level"]["suggestion"] == "value_add"
    assert details["case.skills[1]"]["suggestion"] == "robotics"
    assert all(d["message_ja"] and d["message"] and d["code"] for d in err["details"])
    assert "renkei codes industry" in details["case.industry"]["message"]

    path = cluster.temp_file(json.dumps(rec, ensure_ascii=False).encode(), ".json")
    p = run("publish", path, env={"LANG": "ja_JP.UTF-8", "LC_ALL": "", "LC_MESSAGES": ""})
    assert p.returncode == 1
    out = p.stderr.decode()
    assert "4 件の誤り" in out, out
    for field, sugg in (("case.prefecture", "17"), ("case.industry", "manufacturing"), ("case.dx_level", "value_add"),
                        ("case.skills[1]", "robotics")):
        line = [l for l in out.splitlines() if l.strip().startswith(field + ":")]
        assert line and "候補: " + sugg in line[0], (field, out)
    assert "「manufactring」は業種" in out and "のコードではありません" in out, out
    p = run("publish", path, env={"LANG": "C", "LC_ALL": "", "LC_MESSAGES": ""})
    assert "suggestion: manufacturing" in p.stderr.decode() and "is not a" in p.stderr.decode()
    assert not by_tag("never-published")


def test_missing_and_invalid_reported_once_per_field():
    rec = {"kind": "event", "event": {"title": "", "event_type": "seminarr", "starts_at": "2031-09-10 13:00",
                                      "ends_at": "2031-09-10T16:00:00+09:00", "format": "", "prefecture": "13"}}
    err = node().request("POST", "/v1/records", rec).json()["error"]
    fields = [d["field"] for d in err["details"]]
    assert sorted(fields) == ["event.event_type", "event.format", "event.starts_at", "event.title"], fields
    codes = {d["field"]: d["code"] for d in err["details"]}
    assert codes["event.title"] == "missing_field" and codes["event.event_type"] == "invalid_enum"
    assert codes["event.starts_at"] == "invalid_date" and codes["event.format"] == "missing_field"


def test_help_in_japanese_for_every_command():
    ja = {"LANG": "ja_JP.UTF-8", "LC_ALL": "", "LC_MESSAGES": ""}
    top = run("--help", env=ja).stdout.decode()
    assert "使い方" in top and "コマンド（ノード不要）" in top, top
    names = [l.split()[0] for l in top.splitlines() if l.startswith("  ") and not l.strip().startswith("-")]
    assert {"codes", "new", "import", "publish", "list"} <= set(names), names
    for name in names:
        text = run(name, "--help", env=ja).stdout.decode()
        body = text.split("\n\n", 1)[1]
        # Japanese first: the explanation itself is Japanese, not the English text
        assert text.startswith("使い方") and any(0x3040 <= ord(c) <= 0x30ff for c in body[:40]), (name, text)
    assert run("import", "--help", env={"LANG": "C", "LC_ALL": "", "LC_MESSAGES": ""}).stdout.startswith(b"usage:")


def test_codes_lists_every_taxonomy_with_labels():
    p = run("--json", "codes")
    assert p.returncode == 0, p.stderr
    codes = json.loads(p.stdout)
    for name in ("industry", "dx_level", "skills", "audience", "event_type", "format", "prefecture", "visibility"):
        assert codes[name], name
    assert {"code": "manufacturing", "label_ja": "製造業", "label_en": "Manufacturing"} in codes["industry"]
    assert {"code": "17", "label_ja": "石川県", "label_en": "Ishikawa"} in codes["prefecture"] and len(codes["prefecture"]) == 47
    assert all(c["label_ja"] and c["label_en"] for t in codes.values() for c in t)
    text = run("codes", "industry").stdout.decode()
    assert "manufacturing" in text and "製造業" in text and "JSIC" in text
    assert run("codes", "industri").returncode == 2


def test_new_template_lists_codes_and_publishes_once_filled():
    for kind in ("case", "event", "region"):
        p = run("new", kind)
        assert p.returncode == 0, p.stderr
    t = run("new", "case").stdout.decode()
    assert "manufacturing 製造業" in t and "【必須】" in t and "renkei codes" in t
    # fill the template's lines as a person would, keeping every comment line
    filled = (t.replace('"title": ""', '"title": "テンプレートから登録"', 1)
               .replace('"summary": ""', '"summary": "ひな形を埋めた。"', 1)
               .replace('"prefecture": ""', '"prefecture": "石川県"', 1)
               .replace('"industry": ""', '"industry": "製造業"', 1)
               .replace('"dx_level": ""', '"dx_level": "efficiency"', 1)
               .replace('"tags": []', '"tags": ["from-template"]', 1))
    path = cluster.temp_file(filled.encode(), ".json")
    p = run("--json", "publish", path)
    assert p.returncode == 0, p.stderr.decode()
    got = node().get("/v1/records/" + json.loads(p.stdout)["id"]).json()
    assert got["case"]["prefecture"] == "17" and got["case"]["title"] == "テンプレートから登録"
    assert "organisation" not in got["case"], got  # untouched parts are left out, not sent empty
    d = cluster.temp_dir()
    assert run("new", "event", "--out", os.path.join(d, "e.json")).returncode == 0
    assert run("new", "event", "--out", os.path.join(d, "e.json")).returncode == 1  # never overwrites


def test_new_ask_field_by_field():
    # a mistyped prefecture and industry are explained and asked again; choices by number
    answers = "質問に答えて登録\n概要\n石河県\n石川\n製造\n5\n2\nAI; 7\n\n\n\nfrom-ask\n"
    p = run("new", "case", "--ask", input=answers.encode(), env={"LANG": "ja_JP.UTF-8", "LC_ALL": "", "LC_MESSAGES": ""})
    assert p.returncode == 0, p.stderr.decode()
    err = p.stderr.decode()
    # the kind is named by its Japanese label, its code beside it
    assert err.startswith("事例（case）を項目ごとに入力します"), err
    assert "候補: 17" in err and "候補: manufacturing" in err and "5) manufacturing  製造業" in err, err
    # required fields are starred, and a field's hint is what to type
    assert "*prefecture 都道府県（名前かコード 01〜47）: " in err and " tags タグ（; で区切る）: " in err, err
    # a field whose question is its explanation in the template asks with that explanation
    assert "*title 題名: " in err and " place_name 地名（例: 加賀市）: " in err, err
    rec = json.loads(p.stdout)
    assert rec["case"]["prefecture"] == "17" and rec["case"]["industry"] == "manufacturing", rec
    assert rec["case"]["dx_level"] == "value_add" and rec["case"]["skills"] == ["ai", "data_analysis"], rec
    pub = run("--json", "publish", cluster.temp_file(p.stdout, ".json"))
    assert pub.returncode == 0, pub.stderr.decode()
    assert by_tag("from-ask")[0]["case"]["title"] == "質問に答えて登録"
    # input that ends early writes nothing
    p = run("new", "event", "--ask", input=b"only a title\n")
    assert p.returncode == 1 and p.stdout == b"", p


def test_import_utf8_bom_and_cp932_publish_every_good_row():
    for enc, bom, tag in (("utf-8", True, "imp-bom"), ("cp932", False, "imp-sjis")):
        path = cluster.temp_file(csv_bytes(good_rows(tag), enc, bom), ".csv")
        p = run("import", path)
        assert p.returncode == 0, (enc, p.stderr.decode())
        recs = by_tag(tag)
        assert len(recs) == 3, (enc, recs)
        titles = sorted(r[r["kind"]]["title"] for r in recs)
        assert titles == sorted(r["title"] for r in good_rows(tag)), titles
        ishikawa = [r for r in recs if r["kind"] == "case" and r["case"]["prefecture"] == "17"]
        assert ishikawa and ishikawa[0]["case"]["industry"] == "manufacturing"
        assert ishikawa[0]["case"]["skills"] == ["ai", "digital_marketing"]
        ev = [r for r in recs if r["kind"] == "event"][0]["event"]
        assert ev["prefecture"] == "41" and ev["format"] == "online" and ev["event_type"] == "seminar"
    # filters take names and labels too
    listed = json.loads(run("--json", "list", "--prefecture", "石川県", "--industry", "製造業", "--all").stdout)
    assert {"imp-bom", "imp-sjis"} <= {t for r in listed["records"] for t in r["case"].get("tags", [])}, listed
    assert all(r["case"]["prefecture"] == "17" for r in listed["records"])


def test_import_excel_unicode_text():
    """Excel's "Unicode text": UTF-16LE with a BOM, cells separated by tabs."""
    text = csv_bytes(good_rows("imp-utf16")).decode().replace(",", "\t")
    p = run("import", cluster.temp_file(b"\xff\xfe" + text.encode("utf-16-le"), ".txt"))
    assert p.returncode == 0, p.stderr.decode()
    assert "UTF-16LE" in p.stdout.decode()
    assert sorted(r[r["kind"]]["title"] for r in by_tag("imp-utf16")) == sorted(r["title"] for r in good_rows("x"))


def test_import_bad_rows_reported_and_nothing_published():
    rows = good_rows("imp-bad")
    rows[0] = dict(rows[0], prefecture="石河県")        # row 2: bad prefecture
    rows[1] = dict(rows[1], industry="製造")             # row 3: unknown industry
    rows[2] = dict(rows[2], title="")                    # row 4: missing title
    rows.append(dict(good_rows("imp-bad")[0], title="正しい行"))  # row 5: fine
    path = cluster.temp_file(csv_bytes(rows, "cp932"), ".csv")
    p = run("import", path, env={"LANG": "C", "LC_ALL": "", "LC_MESSAGES": ""})
    assert p.returncode == 1
    err = p.stderr.decode()
    assert "row 2 prefecture:" in err and "suggestion: 17" in err, err
    assert "row 3 industry:" in err and "suggestion: manufacturing" in err, err
    assert "row 4 title:" in err and "missing_field" in err, err
    assert "row 5" not in err, err
    assert not by_tag("imp-bad")
    dry = run("import", "--dry-run", "--skip-bad", path)
    assert b"--dry-run" in dry.stdout and not by_tag("imp-bad"), dry
    pj = run("import", path, env={"LANG": "ja_JP.UTF-8", "LC_ALL": "", "LC_MESSAGES": ""})
    assert "2行目 prefecture" in pj.stderr.decode() and "どの行も登録していません" in pj.stderr.decode()
    assert not by_tag("imp-bad")
    # --skip-bad publishes the good row only
    p = run("import", "--skip-bad", path)
    assert p.returncode == 1
    assert [r["case"]["title"] for r in by_tag("imp-bad")] == ["正しい行"]


def test_reimport_of_export_updates_only_the_edited_row():
    tag = "imp-export"
    rows = good_rows(tag)
    # the export neutralises this title with an apostrophe; the re-import must read it back unchanged
    rows[1] = dict(rows[1], title="=数式に見える題名", summary="-5% の削減")
    assert run("import", cluster.temp_file(csv_bytes(rows, "utf-8", True), ".csv")).returncode == 0
    before = {r["id"]: r["provenance"]["version"] for r in by_tag(tag)}
    assert len(before) == 3
    d = cluster.temp_dir()
    out = os.path.join(d, "export.csv")
    assert run("export", "--format", "csv", "--out", out).returncode == 0
    with open(out, encoding="utf-8-sig", newline="") as f:
        table = list(csv.reader(f))
    head, body = table[0], table[1:]
    ids = head.index("id")
    mine = [r for r in body if r[ids] in before]
    assert len(mine) == 3
    assert "'=数式に見える題名" in [r[head.index("title")] for r in mine], mine  # what the export does today
    edit = [r for r in mine if not r[head.index("title")].startswith("'")][0]
    target = edit[ids]
    edit[head.index("title")] = "題名だけ変えた"
    edited = io.StringIO()
    w = csv.writer(edited, lineterminator="\r\n")
    w.writerow(head)
    w.writerows(mine)
    p = run("import", cluster.temp_file(b"\xef\xbb\xbf" + edited.getvalue().encode(), ".csv"))
    assert p.returncode == 0, p.stderr.decode()
    after = {r["id"]: r for r in by_tag(tag)}
    assert set(after) == set(before)
    assert "1 row(s) sent, 2 unchanged" in p.stdout.decode(), p.stdout
    for rid, rec in after.items():
        if rid == target:
            assert rec["provenance"]["version"] > before[rid]
            assert rec[rec["kind"]]["title"] == "題名だけ変えた"
        else:
            assert rec["provenance"]["version"] == before[rid], rid


def test_row_numbers_are_the_spreadsheets():
    # an empty line is a row of the sheet too, and a cell may span lines inside quotes
    for nl in ("\r\n", "\n"):
        data = nl.join(["kind,title,summary,prefecture,industry,dx_level", "case,a,s,17,E,culture", "",
                        'case,b,"two' + nl + 'lines",17,E,culture', "case,c,s,99,E,culture", ""]).encode()
        p = run("import", "--dry-run", cluster.temp_file(data, ".csv"), env={"LANG": "C", "LC_ALL": "", "LC_MESSAGES": ""})
        err = p.stderr.decode()
        assert p.returncode == 1 and "row 5 prefecture:" in err and "row 4" not in err, (nl, err)


def test_import_unknown_and_deleted_ids():
    res = node().publish(rk.sample_case(title="消す事例", tags=["imp-gone"]))
    node().request("DELETE", "/v1/records/" + res["id"])
    head = "id,kind,title\r\n"
    data = (head + "%s,case,消す事例\r\n%s,case,ない事例\r\n" % (res["id"], node().key + ":no-such-rid")).encode()
    p = run("import", cluster.temp_file(data, ".csv"), env={"LANG": "C", "LC_ALL": "", "LC_MESSAGES": ""})
    err = p.stderr.decode()
    assert p.returncode == 1 and "row 2 id: the record was deleted [gone]" in err, err
    assert "row 3 id: no record with this id on the node [not_found]" in err, err


def test_import_undoes_formula_neutralisation():
    # the export prefixes a whole cell; an apostrophe inside a list stays, as the export left it
    rows = [dict(good_rows("imp-formula")[0], title="'=SUM(A1)は数式ではない", summary="'-5% の削減",
                 tags="'@imp-formula; '=kept; imp-formula")]
    p = run("import", cluster.temp_file(csv_bytes(rows), ".csv"))
    assert p.returncode == 0, p.stderr.decode()
    rec = by_tag("imp-formula")[0]["case"]
    assert rec["title"] == "=SUM(A1)は数式ではない" and rec["summary"] == "-5% の削減", rec
    assert rec["tags"] == ["@imp-formula", "'=kept", "imp-formula"], rec


def test_import_reads_other_field_columns_and_region_names():
    data = ("kind,title,node_kind,prefecture,municipality,key_industries,capacity\r\n"
            "region,北見市の地域ノード,地域,北海道,01208,漁業; 製造業,\r\n"
            "event,,,,,,\r\n").encode()

    def regions():
        res = node().get(rk.query("/v1/records", kind="region", limit=100)).json()["records"]
        return [r["region"] for r in res if r["region"]["name"] == "北見市の地域ノード"]

    # row 3 is an event with nothing in it: every missing field is named, and nothing is published
    p = run("import", cluster.temp_file(data, ".csv"), env={"LANG": "C", "LC_ALL": "", "LC_MESSAGES": ""})
    err = p.stderr.decode()
    assert p.returncode == 1 and not regions()
    for col in ("title", "event_type", "starts_at", "ends_at", "format", "prefecture"):
        assert "row 3 %s:" % col in err, (col, err)
    assert "row 2" not in err, err
    p = run("import", cluster.temp_file(data.split(b"event,")[0], ".csv"))
    assert p.returncode == 0, p.stderr.decode()
    reg = regions()[0]
    assert reg["name"] == "北見市の地域ノード" and reg["node_kind"] == "region" and reg["prefecture"] == "01"
    assert reg["key_industries"] == ["fisheries", "manufacturing"] and reg["municipality"] == "01208"
    # a column that no record kind has is an error in any row that fills it
    bad = "kind,title,summary,prefecture,industry,dx_level,colour\r\ncase,t,s,17,E,culture,red\r\n".encode()
    p = run("import", cluster.temp_file(bad, ".csv"), env={"LANG": "C", "LC_ALL": "", "LC_MESSAGES": ""})
    assert p.returncode == 1 and "row 2 colour:" in p.stderr.decode() and "unknown_field" in p.stderr.decode()


if __name__ == "__main__":
    rk.run_tests(globals())
