/* test_feed: the export renderers and statistics on sealed in-memory records (no store needed).
 *
 * Each check parses or scans the rendered bytes the way a consumer would (folding, escaping,
 * quoting, exclusive DTEND), so a regression in any renderer fails here before a subscriber sees it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "csvout.h"
#include "fixture.h"
#include "feed.h"
#include "ical.h"
#include "run_tests.h"
#include "stats.h"

typedef struct fixture {
    fx_author a;
    char hex[2 * RK_KEY_LEN + 1];
} fixture;

static const char *names(const uint8_t author[RK_KEY_LEN], void *ctx)
{
    fixture *f = ctx;
    return memcmp(author, f->a.pub, RK_KEY_LEN) == 0 ? "石川県産業DX推進室" : NULL;
}

static int setup(void **state)
{
    fixture *f = fx_state_new(state, sizeof *f);
    fx_author_init(&f->a);
    rk_hex_encode(f->a.pub, RK_KEY_LEN, f->hex);
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    fx_author_free(&f->a);
    free(f);
    return 0;
}

/* Each of the NULL-terminated needles occurs in text; the first missing one is named. */
static void expect_all(const char *text, const char *const *needles)
{
    for (; *needles; needles++)
        if (!strstr(text, *needles))
            fail_msg("not found: %s", *needles);
}

static rk_feed_meta meta(fixture *f)
{
    rk_feed_meta m = {.node_name = "全国事務局",
                      .base_url = "http://localhost:7480",
                      .node_key = f->a.pub,
                      .author_name = names,
                      .ctx = f};
    return m;
}

static void seal(fixture *f, Renkei__Record *r, const char *rid, uint64_t version, int vis, rk_record *out)
{
    r->created_at = version - 60000;
    fx_seal(&f->a, r, rid, version, vis, out);
}

static void make_case(fixture *f, const char *rid, uint64_t version, int vis, const char *pref, const char *title,
                      const char *summary, rk_record *out)
{
    Renkei__Record r = RENKEI__RECORD__INIT;
    Renkei__Case c = RENKEI__CASE__INIT;
    static Renkei__Skill skills[] = {RENKEI__SKILL__SKILL_ROBOTICS, RENKEI__SKILL__SKILL_DIGITAL_MARKETING};
    static char *tags[] = {"リスキリング", "EC"};
    c.title = (char *)title;
    c.summary = (char *)summary;
    c.prefecture = (char *)pref;
    c.industry = RENKEI__INDUSTRY__INDUSTRY_MANUFACTURING;
    c.dx_level = RENKEI__DX_LEVEL__DX_LEVEL_NEW_OFFERING;
    c.skills = skills;
    c.n_skills = 2;
    c.tags = tags;
    c.n_tags = 2;
    fx_body(&r, RENKEI__KIND__KIND_CASE, &c);
    seal(f, &r, rid, version, vis, out);
}

static void make_event(fixture *f, const char *rid, uint64_t version, const char *title, const char *summary,
                       const char *starts, const char *ends, int precision, int status, rk_record *out)
{
    Renkei__Record r = RENKEI__RECORD__INIT;
    Renkei__Event e = RENKEI__EVENT__INIT;
    Renkei__Venue v = RENKEI__VENUE__INIT;
    v.name = "サテライトオフィス北見";
    v.address = "北海道北見市";
    e.title = (char *)title;
    e.summary = (char *)summary;
    e.event_type = RENKEI__EVENT_TYPE__EVENT_TYPE_FIELDWORK_TOUR;
    e.starts_at = (char *)starts;
    e.ends_at = (char *)ends;
    e.format = RENKEI__EVENT_FORMAT__EVENT_FORMAT_ONSITE;
    e.prefecture = "01";
    e.venue = &v;
    e.date_precision = precision;
    e.status = status;
    e.application_url = "https://example.jp/apply?a=1;b=2";
    fx_body(&r, RENKEI__KIND__KIND_EVENT, &e);
    seal(f, &r, rid, version, RENKEI__VISIBILITY__VISIBILITY_PUBLIC, out);
}

/* ------------------------------------------------------------------------------------- Atom */

static void test_atom_escaping_and_order(void **state)
{
    fixture *f = *state;
    rk_record a, b;
    make_case(f, "older", 1700000000000ull, RENKEI__VISIBILITY__VISIBILITY_PUBLIC, "17", "<b>樹脂 & \"食器\" 'OEM'</b>",
              "売上が2倍に", &a);
    make_case(f, "newer", 1700000100000ull, RENKEI__VISIBILITY__VISIBILITY_PUBLIC, "34", "広島県の宣言制度",
              "1,400人 → 2,700人", &b);
    const rk_record *recs[] = {&a, &b};
    rk_feed_meta m = meta(f);
    rk_buf out;
    rk_buf_init(&out);
    assert_int_equal(rk_feed_atom(recs, 2, &m, &out), 0);
    const char *x = out.data;
    assert_non_null(strstr(x, "<feed xmlns=\"http://www.w3.org/2005/Atom\""));
    assert_non_null(strstr(x, "<title>&lt;b&gt;樹脂 &amp; &quot;食器&quot; &apos;OEM&apos;&lt;/b&gt;</title>"));
    assert_null(strstr(x, "<b>"));
    assert_non_null(strstr(
        x, "<link rel=\"self\" type=\"application/atom+xml\" href=\"http://localhost:7480/v1/export/feed.atom\"/>"));
    char id_old[160], id_new[160];
    snprintf(id_old, sizeof id_old, "<id>urn:renkei:%s:older</id>", f->hex);
    snprintf(id_new, sizeof id_new, "<id>urn:renkei:%s:newer</id>", f->hex);
    const char *po = strstr(x, id_old), *pn = strstr(x, id_new);
    assert_non_null(po);
    assert_non_null(pn);
    assert_true(pn < po); /* newest first, whatever order the caller passed */
    expect_all(x, (const char *const[]){"<updated>2023-11-14T22:15:00Z</updated>", /* version 1700000100000 ms */
                                        "<name>石川県産業DX推進室</name>",
                                        "<category scheme=\"urn:renkei:prefecture\" term=\"17\" label=\"石川県\"/>",
                                        "<category scheme=\"urn:renkei:industry\" term=\"manufacturing\"",
                                        "<category scheme=\"urn:renkei:skill\" term=\"robotics\"", NULL});
    /* no link into the node's API (the proxy does not expose it), and no next page was given */
    assert_null(strstr(x, "/v1/records/"));
    assert_null(strstr(x, "rel=\"alternate\""));
    assert_null(strstr(x, "rel=\"next\""));
    rk_buf_free(&out);

    /* a page with a next page links to it (RFC 5005) and names itself by the caller's URL */
    m.self_url = "https://renkei.example.jp/kitami/v1/export/feed.atom?limit=1";
    m.next_url = "https://renkei.example.jp/kitami/v1/export/feed.atom?limit=1&cursor=ab";
    rk_buf_init(&out);
    assert_int_equal(rk_feed_atom(recs, 2, &m, &out), 0);
    assert_non_null(strstr(out.data, "<link rel=\"self\" type=\"application/atom+xml\" "
                                     "href=\"https://renkei.example.jp/kitami/v1/export/feed.atom?limit=1\"/>"));
    assert_non_null(strstr(out.data,
                           "<link rel=\"next\" type=\"application/atom+xml\" "
                           "href=\"https://renkei.example.jp/kitami/v1/export/feed.atom?limit=1&amp;cursor=ab\"/>"));
    rk_buf_free(&out);
    FX_FREE_RECORDS(&a, &b);
}

/* Renders one public case with this title and summary (which the validator may refuse on ingest: the
 * renderer must cope even if it did not) as Atom into out. */
static void atom_of_case(fixture *f, const char *title, const char *summary, rk_buf *out)
{
    rk_record a;
    memset(&a, 0, sizeof a);
    Renkei__Record r = RENKEI__RECORD__INIT;
    Renkei__Case c = RENKEI__CASE__INIT;
    c.title = (char *)title;
    c.summary = (char *)summary;
    c.prefecture = "17";
    fx_body(&r, RENKEI__KIND__KIND_CASE, &c);
    r.author.data = f->a.pub;
    r.author.len = RK_KEY_LEN;
    r.rid = "ctl";
    r.version = 1700000000000ull;
    r.visibility = RENKEI__VISIBILITY__VISIBILITY_PUBLIC;
    a.msg = &r;
    const rk_record *recs[] = {&a};
    rk_feed_meta m = meta(f);
    rk_buf_init(out);
    assert_int_equal(rk_feed_atom(recs, 1, &m, out), 0);
}

/* Control characters would make the XML ill-formed: they must vanish from every text node. */
static void test_atom_strips_control_characters(void **state)
{
    rk_buf out;
    atom_of_case(*state, "ベル\x07と\x1b[31mエスケープ\xc2\x85", "改行\nはそのまま", &out);
    assert_non_null(strstr(out.data, "<title>ベルと[31mエスケープ</title>"));
    for (size_t i = 0; i < out.len; i++) {
        unsigned char ch = (unsigned char)out.data[i];
        assert_false(ch < 0x20 && ch != '\n');
        assert_false(ch == 0xC2 && i + 1 < out.len && (unsigned char)out.data[i + 1] == 0x85);
    }
    rk_buf_free(&out);
}

/* A CR must survive an XML reader (which folds a raw CR into LF), and the escaped runs on either side
 * of a dropped control or a CR must keep their escapes. */
static void test_atom_keeps_carriage_return_as_reference(void **state)
{
    rk_buf out;
    atom_of_case(*state, "A&B\r\x01<C>\r", NULL, &out);
    if (!strstr(out.data, "<title>A&amp;B&#13;&lt;C&gt;&#13;</title>"))
        fail_msg("%s", out.data);
    assert_null(strchr(out.data, '\r'));
    rk_buf_free(&out);
}

/* -------------------------------------------------------------------------------- iCalendar */

/* Checks RFC 5545 framing and returns the unfolded text (caller frees). */
static char *check_and_unfold(const rk_buf *ics)
{
    const char *p = ics->data, *end = ics->data + ics->len;
    assert_true(ics->len > 2);
    assert_memory_equal(end - 2, "\r\n", 2);
    while (p < end) {
        const char *nl = strstr(p, "\r\n");
        assert_non_null(nl);
        size_t len = (size_t)(nl - p);
        assert_true(len <= 75);
        assert_null(memchr(p, '\n', len)); /* bare LF never appears */
        /* a fold never lands inside a UTF-8 sequence: no line (after the fold space) starts with a
         * continuation byte, and no line ends with an incomplete lead byte */
        const unsigned char *s = (const unsigned char *)p;
        size_t i = len && s[0] == ' ' ? 1 : 0;
        if (len > i)
            assert_false((s[i] & 0xC0) == 0x80);
        if (len) {
            size_t k = len;
            size_t back = 0;
            while (k > 0 && (s[k - 1] & 0xC0) == 0x80 && back < 3) {
                k--;
                back++;
            }
            if (k > 0 && s[k - 1] >= 0xC0) {
                size_t need = s[k - 1] >= 0xF0 ? 3 : s[k - 1] >= 0xE0 ? 2 : 1;
                assert_int_equal(back, need);
            }
        }
        p = nl + 2;
    }
    /* unfold: CRLF followed by a space is removed */
    char *u = malloc(ics->len + 1);
    assert_non_null(u);
    size_t j = 0;
    for (size_t i = 0; i < ics->len; i++) {
        if (ics->data[i] == '\r' && i + 2 < ics->len && ics->data[i + 1] == '\n' && ics->data[i + 2] == ' ') {
            i += 2;
            continue;
        }
        u[j++] = ics->data[i];
    }
    u[j] = '\0';
    return u;
}

static void test_ics_folding_escaping_and_dates(void **state)
{
    fixture *f = *state;
    char title[512] = "";
    for (int i = 0; i < 30; i++)
        strcat(title, "連携");
    strcat(title, "e\xcc\x81"); /* a combining sequence at the end, still whole characters */
    rk_record timed, allday, month, cancelled, planned;
    make_event(f, "meetup", 1700000000000ull, title, "内容; 詳細, 準備\\資料\n二行目", "2021-10-10T13:00:00+09:00",
               "2021-10-10T16:30:00+09:00", 0, RENKEI__EVENT_STATUS__EVENT_STATUS_SCHEDULED, &timed);
    make_event(f, "tour", 1700000001000ull, "北見フィールドワーク", "", "2021-11-16T00:00:00+09:00",
               "2021-11-18T23:59:59+09:00", RENKEI__DATE_PRECISION__DATE_PRECISION_DAY,
               RENKEI__EVENT_STATUS__EVENT_STATUS_SCHEDULED, &allday);
    make_event(f, "sept", 1700000002000ull, "セミナー・情報交換会", "", "2023-09-01T00:00:00+09:00",
               "2023-09-30T23:59:59+09:00", RENKEI__DATE_PRECISION__DATE_PRECISION_MONTH,
               RENKEI__EVENT_STATUS__EVENT_STATUS_PLANNED, &month);
    make_event(f, "off", 1700000003000ull, "中止の回", "", "2022-01-24T14:00:00+09:00", "2022-01-24T16:00:00+09:00", 0,
               RENKEI__EVENT_STATUS__EVENT_STATUS_CANCELLED, &cancelled);
    make_event(f, "fy", 1700000004000ull, "年度内に開催", "", "2024-02-01T00:00:00+09:00", "2024-02-01T00:00:00+09:00",
               RENKEI__DATE_PRECISION__DATE_PRECISION_FISCAL_YEAR, RENKEI__EVENT_STATUS__EVENT_STATUS_PLANNED,
               &planned);
    const rk_record *recs[] = {&timed, &allday, &month, &cancelled, &planned};
    rk_feed_meta m = meta(f);
    rk_buf out;
    rk_buf_init(&out);
    assert_int_equal(rk_ical_render(recs, 5, &m, &out), 0);
    assert_true(strncmp(out.data, "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n", 30) == 0);
    char *u = check_and_unfold(&out);
    /* the long Japanese summary was folded (it is far over 75 octets) and unfolds intact */
    char want[640];
    snprintf(want, sizeof want, "\r\nSUMMARY:%s\r\n", title);
    assert_non_null(strstr(u, want));
    assert_null(strstr(out.data, want));
    expect_all(u, (const char *const[]){"DESCRIPTION:内容\\; 詳細\\, 準備\\\\資料\\n二行目",
                                        "BEGIN:VTIMEZONE\r\nTZID:Asia/Tokyo\r\n", "TZOFFSETTO:+0900", NULL});
    char uid[160];
    snprintf(uid, sizeof uid, "UID:meetup@%s\r\n", f->hex);
    expect_all(u, (const char *const[]){
                      uid, "DTSTART;TZID=Asia/Tokyo:20211010T130000\r\n", "DTEND;TZID=Asia/Tokyo:20211010T163000\r\n",
                      /* all-day, three days: DTEND is the day after the last day */
                      "DTSTART;VALUE=DATE:20211116\r\nDTEND;VALUE=DATE:20211119\r\n",
                      /* month precision spans the month and says the date is open */
                      "DTSTART;VALUE=DATE:20230901\r\nDTEND;VALUE=DATE:20231001\r\n",
                      "X-RENKEI-DATE-PRECISION:month\r\n", "SUMMARY:セミナー・情報交換会（2023年9月・日程未定）\r\n",
                      /* fiscal year 2023 = 2023-04-01 .. 2024-03-31 */
                      "DTSTART;VALUE=DATE:20230401\r\nDTEND;VALUE=DATE:20240401\r\n",
                      "X-RENKEI-DATE-PRECISION:fiscal_year\r\n", NULL});
    /* status mapping: exactly one cancelled, and planned events are tentative */
    const char *c1 = strstr(u, "STATUS:CANCELLED\r\n");
    assert_non_null(c1);
    assert_null(strstr(c1 + 1, "STATUS:CANCELLED"));
    expect_all(u, (const char *const[]){"STATUS:TENTATIVE\r\n", "LOCATION:サテライトオフィス北見\\, 北海道北見市\r\n",
                                        "URL:https://example.jp/apply?a=1;b=2\r\n",
                                        /* the title already says 中止, so it is not said twice */
                                        "SUMMARY:中止の回\r\n", NULL});
    assert_null(strstr(u, "/v1/records/"));
    size_t vevents = 0;
    for (const char *p = u; (p = strstr(p, "BEGIN:VEVENT")); p++)
        vevents++;
    assert_int_equal(vevents, 5);
    free(u);
    rk_buf_free(&out);
    FX_FREE_RECORDS(&timed, &allday, &month, &cancelled, &planned);
}

/* -------------------------------------------------------------------------------------- CSV */

static void test_csv_quoting_and_bom(void **state)
{
    fixture *f = *state;
    rk_record a, b;
    make_case(f, "q1", 1700000000000ull, RENKEI__VISIBILITY__VISIBILITY_PUBLIC, "17", "加賀市, 石川樹脂工業",
              "彼は\"倍増\"と言った\r\n次の行", &a);
    make_case(f, "q2", 1700000005000ull, RENKEI__VISIBILITY__VISIBILITY_PUBLIC, "41", "SAGA Smart Samurai", "定員100",
              &b);
    const rk_record *recs[] = {&a, &b};
    rk_feed_meta m = meta(f);
    rk_buf out;
    rk_buf_init(&out);
    assert_int_equal(rk_csvout_render(recs, 2, &m, &out), 0);
    assert_memory_equal(out.data, "\xEF\xBB\xBF", 3);
    assert_true(strncmp(out.data + 3, "\"id\",\"kind\",\"author_node\",\"prefecture\",\"prefecture_name\",\"title\",",
                        57) == 0);
    assert_non_null(strstr(out.data,
                           ",\"加賀市, 石川樹脂工業\",\"彼は\"\"倍増\"\"と言った\r\n次の行\",\"manufacturing\","
                           "\"new_offering\",\"robotics; digital_marketing\",\"リスキリング; EC\","));
    assert_non_null(strstr(out.data, ",\"41\",\"佐賀県\",\"SAGA Smart Samurai\",\"定員100\","));
    /* the newer record comes first, and every row ends with CRLF */
    const char *p2 = strstr(out.data, ":q2\","), *p1 = strstr(out.data, ":q1\",");
    assert_non_null(p1);
    assert_non_null(p2);
    assert_true(p2 < p1);
    assert_memory_equal(out.data + out.len - 2, "\r\n", 2);
    rk_buf_free(&out);
    FX_FREE_RECORDS(&a, &b);
}

/* OWASP: a field a spreadsheet would evaluate starts with an apostrophe and is quoted; codes keep
 * their leading zero; other text is untouched. */
static void test_csv_neutralises_formulas(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *title, *field;
    } cases[] = {
        {"=1+1", ",\"'=1+1\","},
        {"=HYPERLINK(\"http://x\",\"y\")", ",\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\","},
        {"+81 3", ",\"'+81 3\","},
        {"-2+3", ",\"'-2+3\","},
        {"@SUM(A1)", ",\"'@SUM(A1)\","},
        {"\tタブ", ",\"'\tタブ\","},
        {"1+1=2", ",\"1+1=2\","},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rk_record a;
        make_case(f, "inj", 1700000000000ull, RENKEI__VISIBILITY__VISIBILITY_PUBLIC, "01", cases[i].title, "要約", &a);
        rk_feed_meta m = meta(f);
        rk_buf out;
        rk_buf_init(&out);
        assert_int_equal(rk_csvout_header(&out), 0);
        assert_int_equal(rk_csvout_row(&a, &m, &out), 0);
        if (!strstr(out.data, cases[i].field))
            fail_msg("title %s: wanted %s in %s", cases[i].title, cases[i].field, out.data);
        assert_non_null(strstr(out.data, ",\"01\",\"北海道\",")); /* the code keeps its zero */
        rk_buf_free(&out);
        rk_record_free(&a);
    }
}

/* Feeds speak Japanese about dates and say 中止 where a reader looks: the title. */
static void test_feeds_japanese_dates_and_cancelled(void **state)
{
    fixture *f = *state;
    rk_record ev[5];
    make_event(f, "t", 1700000000000ull, "交流会", "", "2030-10-10T13:00:00+09:00", "2030-10-10T16:30:00+09:00", 0,
               RENKEI__EVENT_STATUS__EVENT_STATUS_CANCELLED, &ev[0]);
    make_event(f, "d", 1700000001000ull, "視察", "", "2030-11-16T00:00:00+09:00", "2030-11-18T23:59:59+09:00",
               RENKEI__DATE_PRECISION__DATE_PRECISION_DAY, RENKEI__EVENT_STATUS__EVENT_STATUS_SCHEDULED, &ev[1]);
    make_event(f, "m", 1700000002000ull, "報告会", "", "2027-09-01T00:00:00+09:00", "2027-09-30T23:59:59+09:00",
               RENKEI__DATE_PRECISION__DATE_PRECISION_MONTH, RENKEI__EVENT_STATUS__EVENT_STATUS_PLANNED, &ev[2]);
    make_event(f, "y", 1700000003000ull, "成果発表", "", "2028-02-01T00:00:00+09:00", "2028-02-01T00:00:00+09:00",
               RENKEI__DATE_PRECISION__DATE_PRECISION_FISCAL_YEAR, RENKEI__EVENT_STATUS__EVENT_STATUS_PLANNED, &ev[3]);
    make_event(f, "c", 1700000004000ull, "（中止）説明会", "", "2030-12-01T10:00:00+09:00", "2030-12-01T11:00:00+09:00",
               0, RENKEI__EVENT_STATUS__EVENT_STATUS_CANCELLED, &ev[4]);
    const rk_record *recs[] = {&ev[0], &ev[1], &ev[2], &ev[3], &ev[4]};
    rk_feed_meta m = meta(f);
    rk_buf out;
    rk_buf_init(&out);
    assert_int_equal(rk_feed_atom(recs, 5, &m, &out), 0);
    const char *x = out.data;
    expect_all(x, (const char *const[]){"<title>【中止】交流会</title>", "<title>（中止）説明会</title>",
                                        "日時: 2030年10月10日 13:00〜16:30\n状態: 中止",
                                        "日時: 2030年11月16日〜11月18日", "日時: 2027年9月（日程未定）",
                                        "日時: 2027年度（日程未定）", /* February 2028 is in 年度 2027 */
                                        NULL});
    assert_null(strstr(x, "T00:00:00+09:00"));
    rk_buf_free(&out);

    rk_buf_init(&out);
    assert_int_equal(rk_feed_json(recs, 5, &m, &out), 0);
    json_error_t jerr;
    json_t *j = json_loads(out.data, 0, &jerr);
    assert_non_null(j);
    json_t *items = json_object_get(j, "items");
    bool seen = false;
    for (size_t i = 0; i < json_array_size(items); i++) {
        const char *t = json_string_value(json_object_get(json_array_get(items, i), "title"));
        if (strcmp(t, "【中止】交流会") == 0)
            seen = true;
        assert_null(json_object_get(json_array_get(items, i), "url")); /* no page for people yet */
    }
    assert_true(seen);
    assert_null(json_object_get(j, "next_url"));
    json_decref(j);
    rk_buf_free(&out);

    rk_buf_init(&out);
    assert_int_equal(rk_ical_render(recs, 5, &m, &out), 0);
    char *u = check_and_unfold(&out);
    assert_non_null(strstr(u, "SUMMARY:【中止】交流会\r\n"));
    free(u);
    rk_buf_free(&out);
    fx_record_array_free(ev, 5);
}

/* -------------------------------------------------------------------------------- JSON Feed */

static void test_json_feed_required_fields(void **state)
{
    fixture *f = *state;
    rk_record a, b;
    make_case(f, "j1", 1700000000000ull, RENKEI__VISIBILITY__VISIBILITY_PUBLIC, "23", "あいち産業DX推進コンソーシアム",
              "2021年11月設立", &a);
    make_event(f, "j2", 1700000009000ull, "DX寺子屋", "", "2024-05-01T10:00:00+09:00", "2024-05-01T12:00:00+09:00", 0,
               RENKEI__EVENT_STATUS__EVENT_STATUS_SCHEDULED, &b);
    const rk_record *recs[] = {&a, &b};
    rk_feed_meta m = meta(f);
    rk_buf out;
    rk_buf_init(&out);
    assert_int_equal(rk_feed_json(recs, 2, &m, &out), 0);
    json_error_t jerr;
    json_t *j = json_loads(out.data, 0, &jerr);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "version")), "https://jsonfeed.org/version/1.1");
    assert_string_equal(json_string_value(json_object_get(j, "title")), "renkei: 全国事務局");
    json_t *items = json_object_get(j, "items");
    assert_true(json_is_array(items));
    assert_int_equal(json_array_size(items), 2);
    json_t *first = json_array_get(items, 0);
    char id[160];
    snprintf(id, sizeof id, "urn:renkei:%s:j2", f->hex);
    assert_string_equal(json_string_value(json_object_get(first, "id")), id);
    assert_string_equal(json_string_value(json_object_get(first, "title")), "DX寺子屋");
    assert_non_null(json_string_value(json_object_get(first, "content_text")));
    assert_string_equal(json_string_value(json_object_get(first, "date_modified")), "2023-11-14T22:13:29Z");
    json_t *authors = json_object_get(first, "authors");
    assert_string_equal(json_string_value(json_object_get(json_array_get(authors, 0), "name")), "石川県産業DX推進室");
    json_t *tags = json_object_get(json_array_get(items, 1), "tags");
    bool has_ind = false;
    for (size_t i = 0; i < json_array_size(tags); i++)
        if (strcmp(json_string_value(json_array_get(tags, i)), "manufacturing") == 0)
            has_ind = true;
    assert_true(has_ind);
    json_decref(j);
    rk_buf_free(&out);
    FX_FREE_RECORDS(&a, &b);
}

/* ------------------------------------------------------------------------------------ stats */

static json_int_t jint(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    assert_true(json_is_integer(v));
    return json_integer_value(v);
}

static void test_stats_totals(void **state)
{
    fixture *f = *state;
    rk_record r[7];
    make_case(f, "s1", 1700000000000ull, RENKEI__VISIBILITY__VISIBILITY_PUBLIC, "17", "a", "a", &r[0]);
    make_case(f, "s2", 1700000001000ull, RENKEI__VISIBILITY__VISIBILITY_NETWORK, "17", "b", "b", &r[1]);
    make_case(f, "s3", 1700000002000ull, RENKEI__VISIBILITY__VISIBILITY_PUBLIC, "47", "c", "c", &r[2]);
    make_case(f, "s4", 1700000003000ull, RENKEI__VISIBILITY__VISIBILITY_LOCAL, "17", "d", "d", &r[3]);
    make_event(f, "e1", 1700000004000ull, "past", "", "2021-10-10T13:00:00+09:00", "2021-10-10T16:30:00+09:00", 0,
               RENKEI__EVENT_STATUS__EVENT_STATUS_COMPLETED, &r[4]);
    make_event(f, "e2", 1700000005000ull, "future", "", "2031-10-10T13:00:00+09:00", "2031-10-10T16:30:00+09:00", 0,
               RENKEI__EVENT_STATUS__EVENT_STATUS_SCHEDULED, &r[5]);
    make_event(f, "e3", 1700000006000ull, "future cancelled", "", "2031-10-11T13:00:00+09:00",
               "2031-10-11T16:30:00+09:00", 0, RENKEI__EVENT_STATUS__EVENT_STATUS_CANCELLED, &r[6]);
    rk_stats *s = rk_stats_new(1800000000); /* 2027-01-15 */
    assert_non_null(s);
    for (int i = 0; i < 7; i++)
        rk_stats_add(s, &r[i]);
    json_t *j = rk_stats_to_json(s);
    assert_non_null(j);
    json_t *bk = json_object_get(j, "by_kind");
    assert_int_equal(jint(bk, "case"), 3); /* the local one is not counted */
    assert_int_equal(jint(bk, "event"), 3);
    assert_int_equal(jint(bk, "region"), 0);
    assert_int_equal(jint(j, "total"), 6);
    json_t *bp = json_object_get(j, "by_prefecture");
    assert_int_equal(json_array_size(bp), 48);
    json_int_t sum_case = 0, sum_event = 0;
    for (size_t i = 0; i < 48; i++) {
        json_t *row = json_array_get(bp, i);
        sum_case += jint(row, "case");
        sum_event += jint(row, "event");
        assert_int_equal(jint(row, "total"), jint(row, "case") + jint(row, "event") + jint(row, "region"));
    }
    assert_int_equal(sum_case, jint(bk, "case"));
    assert_int_equal(sum_event, jint(bk, "event"));
    json_t *ishikawa = json_array_get(bp, 16);
    assert_string_equal(json_string_value(json_object_get(ishikawa, "code")), "17");
    assert_string_equal(json_string_value(json_object_get(ishikawa, "name")), "石川県");
    assert_int_equal(jint(ishikawa, "case"), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(bp, 47), "code")), "unknown");
    assert_int_equal(jint(json_object_get(j, "by_industry"), "manufacturing"), 3);
    assert_int_equal(jint(json_object_get(j, "by_industry"), "fisheries"), 0);
    assert_int_equal(jint(json_object_get(j, "by_skill"), "robotics"), 3);
    assert_int_equal(jint(json_object_get(j, "by_month"), "2023-11"), 6);
    json_t *up = json_object_get(j, "upcoming_events");
    assert_int_equal(jint(up, "total"), 1); /* past and cancelled events are not upcoming */
    assert_int_equal(jint(json_object_get(up, "by_prefecture"), "01"), 1);
    json_decref(j);
    rk_stats_free(s);
    fx_record_array_free(r, 7);
}

int main(void)
{
    return RK_RUN_TESTS(setup, teardown, cmocka_unit_test(test_atom_escaping_and_order),
                        cmocka_unit_test(test_atom_strips_control_characters),
                        cmocka_unit_test(test_atom_keeps_carriage_return_as_reference),
                        cmocka_unit_test(test_ics_folding_escaping_and_dates),
                        cmocka_unit_test(test_csv_quoting_and_bom), cmocka_unit_test(test_csv_neutralises_formulas),
                        cmocka_unit_test(test_feeds_japanese_dates_and_cancelled),
                        cmocka_unit_test(test_json_feed_required_fields), cmocka_unit_test(test_stats_totals));
}
