/* Tests for lib/validate.c: each content rule rejects exactly the record that breaks it, with its
 * stable code and field path, and valid records of every kind pass. Records are built directly as
 * protobuf-c structs so these tests do not depend on the JSON layer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "fixture.h"
#include "lookup_cases.h"
#include "problems.h"
#include "record.h"
#include "run_tests.h"
#include "taxonomy.h"

typedef struct fixture {
    uint8_t author[RK_KEY_LEN];
    Renkei__Record r;
    Renkei__Case c;
    Renkei__Event e;
    Renkei__RegionProfile p;
    Renkei__Tombstone t;
    Renkei__Organisation org;
    Renkei__Period period;
    Renkei__Link link;
    Renkei__Link *links[1];
    Renkei__Metric metric;
    Renkei__Metric *metrics[1];
    Renkei__Venue venue;
    Renkei__AgendaItem agenda;
    Renkei__AgendaItem *agendas[1];
    Renkei__Skill skills[2];
    char *tags[2];
    char *regions[2];
    Renkei__Industry industries[2];
    char long_text[20002];
    char *many[65];
} fixture;

static void make_base(fixture *f)
{
    memset(f, 0, sizeof *f);
    memset(f->author, 0xab, sizeof f->author);
    renkei__record__init(&f->r);
    f->r.author.data = f->author;
    f->r.author.len = RK_KEY_LEN;
    f->r.rid = "case-2022.hiroshima_01";
    f->r.version = 1700000000000ULL;
    f->r.visibility = RENKEI__VISIBILITY__VISIBILITY_PUBLIC;
    f->r.language = "ja";
}

static void make_case(fixture *f)
{
    make_base(f);
    renkei__case__init(&f->c);
    renkei__organisation__init(&f->org);
    renkei__period__init(&f->period);
    renkei__link__init(&f->link);
    renkei__metric__init(&f->metric);
    f->c.title = "ITパスポート取得支援でＡＩ活用人材を育成";
    f->c.summary = "リスキリング推進企業応援プロジェクト";
    f->c.prefecture = "34";
    f->c.municipality = "34100";
    f->c.industry = RENKEI__INDUSTRY__INDUSTRY_MANUFACTURING;
    f->c.dx_level = RENKEI__DX_LEVEL__DX_LEVEL_EFFICIENCY;
    f->org.anonymised = 1;
    f->org.employees = 120;
    f->c.organisation = &f->org;
    f->period.start = "2022-04";
    f->period.end = "2023-03-31";
    f->period.fiscal_year = "2022";
    f->c.period = &f->period;
    f->link.title = "県のページ";
    f->link.url = "https://www.pref.hiroshima.lg.jp/";
    f->links[0] = &f->link;
    f->c.sources = f->links;
    f->c.n_sources = 1;
    f->metric.metric = "ITパスポート合格者";
    f->metric.value = 2700;
    f->metric.baseline = 1400;
    f->metrics[0] = &f->metric;
    f->c.results = f->metrics;
    f->c.n_results = 1;
    f->skills[0] = RENKEI__SKILL__SKILL_IT_PASSPORT;
    f->skills[1] = RENKEI__SKILL__SKILL_AI;
    f->c.skills = f->skills;
    f->c.n_skills = 2;
    f->tags[0] = "リスキリング";
    f->tags[1] = "宣言";
    f->c.tags = f->tags;
    f->c.n_tags = 2;
    fx_body(&f->r, RENKEI__KIND__KIND_CASE, &f->c);
}

static void make_event(fixture *f)
{
    make_base(f);
    renkei__event__init(&f->e);
    renkei__venue__init(&f->venue);
    renkei__agenda_item__init(&f->agenda);
    f->e.title = "自治体リスキリング共同宣言";
    f->e.event_type = RENKEI__EVENT_TYPE__EVENT_TYPE_KICKOFF;
    f->e.starts_at = "2023-05-10T13:00:00+09:00";
    f->e.ends_at = "2023-05-10T16:00:00+09:00";
    f->e.format = RENKEI__EVENT_FORMAT__EVENT_FORMAT_HYBRID;
    f->e.prefecture = "13";
    f->venue.name = "会場";
    f->venue.prefecture = "13";
    f->e.venue = &f->venue;
    f->regions[0] = "01";
    f->regions[1] = "47";
    f->e.regions = f->regions;
    f->e.n_regions = 2;
    f->e.application_url = "http://example.jp/apply";
    f->e.application_deadline = "2023-05-01";
    f->agenda.starts_at = "13:00";
    f->agenda.ends_at = "2023-05-10T14:00:00+09:00";
    f->agenda.title = "基調講演";
    f->agendas[0] = &f->agenda;
    f->e.agenda = f->agendas;
    f->e.n_agenda = 1;
    fx_body(&f->r, RENKEI__KIND__KIND_EVENT, &f->e);
}

static void make_region(fixture *f)
{
    make_base(f);
    renkei__region_profile__init(&f->p);
    f->p.name = "北見市";
    f->p.node_kind = RENKEI__NODE_KIND__NODE_KIND_REGION;
    f->p.prefecture = "01";
    f->p.municipality = "012084";
    f->p.website = "https://www.city.kitami.lg.jp/";
    f->industries[0] = RENKEI__INDUSTRY__INDUSTRY_AGRICULTURE_FORESTRY;
    f->p.key_industries = f->industries;
    f->p.n_key_industries = 1;
    fx_body(&f->r, RENKEI__KIND__KIND_REGION, &f->p);
}

static void make_tombstone(fixture *f)
{
    make_base(f);
    renkei__tombstone__init(&f->t);
    fx_body(&f->r, RENKEI__KIND__KIND_TOMBSTONE, &f->t);
}

/* r must be rejected with code at field and a message, or pass when code is NULL; label names the case
 * in the failure message. */
static void expect_result(const Renkei__Record *r, const char *code, const char *field, const char *label)
{
    rk_error err;
    rk_error_clear(&err);
    int rc = rk_record_validate(r, &err);
    bool as_expected =
        code ? rc == -1 && strcmp(err.code, code) == 0 && strcmp(err.field, field) == 0 && err.message[0] != '\0'
             : rc == 0;
    if (!as_expected)
        fail_msg("%s: want %s at %s, got %d: %s at %s: %s", label, code ? code : "no error", code ? field : "-", rc,
                 err.code, err.field, err.message);
}

static void expect_ok(const Renkei__Record *r)
{
    expect_result(r, NULL, NULL, "a valid record");
}

static void expect_reject(const Renkei__Record *r, const char *code, const char *field)
{
    expect_result(r, code, field, "a broken rule");
}

static void test_valid_records_pass(void **state)
{
    fixture *f = *state;
    make_case(f);
    expect_ok(&f->r);
    make_event(f);
    expect_ok(&f->r);
    make_region(f);
    expect_ok(&f->r);
    make_tombstone(f);
    expect_ok(&f->r);
}

/* rk_record_body gives the body the kind names, and nothing when kind and body disagree. */
static void test_record_body(void **state)
{
    fixture *f = *state;
    make_case(f);
    assert_ptr_equal(rk_record_body(&f->r), &f->c);
    f->r.kind = RENKEI__KIND__KIND_EVENT;
    assert_null(rk_record_body(&f->r));
    f->r.kind = 99;
    assert_null(rk_record_body(&f->r));
    make_event(f);
    assert_ptr_equal(rk_record_body(&f->r), &f->e);
    f->r.body_case = RENKEI__RECORD__BODY__NOT_SET;
    assert_null(rk_record_body(&f->r));
    make_tombstone(f);
    assert_ptr_equal(rk_record_body(&f->r), &f->t);
}

static void test_rid(void **state)
{
    (void)state;
    char rid[RK_RID_MAX + 2];
    memset(rid, 'a', sizeof rid);
    rid[RK_RID_MAX] = '\0';
    assert_true(rk_rid_valid(rid));
    rid[RK_RID_MAX] = 'a';
    rid[RK_RID_MAX + 1] = '\0';
    assert_false(rk_rid_valid(rid));
    assert_true(rk_rid_valid("A-z_0.9"));
    assert_false(rk_rid_valid(""));
    assert_false(rk_rid_valid("a b"));
    assert_false(rk_rid_valid("a/b"));
    assert_false(rk_rid_valid("a:b"));
    assert_false(rk_rid_valid("北見"));
    assert_false(rk_rid_valid(NULL));
}

/* One rule broken on one field of a fresh valid record: the record made by `make`, with the text or
 * enum member at `offset` in the fixture set to `text` (or, when text is NULL, to `value`), must be
 * rejected with `code` at `field`, or pass when code is NULL. */
typedef struct rule_case {
    void (*make)(fixture *f);
    size_t offset;
    const char *text;
    int value;
    const char *code, *field;
} rule_case;

#define TEXT(make, member, text, code, field)                 \
    {                                                         \
        make, offsetof(fixture, member), text, 0, code, field \
    }
#define ENUM(make, member, value, code, field)                           \
    {                                                                    \
        make, offsetof(fixture, member), NULL, (int)(value), code, field \
    }

static const rule_case rule_cases[] = {
    /* the node fields */
    TEXT(make_case, r.rid, "", "invalid_rid", "rid"),
    TEXT(make_case, r.rid, "has space", "invalid_rid", "rid"),
    /* kind, body and visibility */
    ENUM(make_case, r.kind, RENKEI__KIND__KIND_UNSPECIFIED, "missing_field", "kind"),
    ENUM(make_case, r.kind, 99, "invalid_enum", "kind"),
    ENUM(make_case, r.kind, RENKEI__KIND__KIND_EVENT, "kind_mismatch", "kind"),
    ENUM(make_case, r.body_case, RENKEI__RECORD__BODY__NOT_SET, "missing_field", "case"),
    ENUM(make_case, r.visibility, RENKEI__VISIBILITY__VISIBILITY_UNSPECIFIED, "missing_field", "visibility"),
    ENUM(make_case, r.visibility, 7, "invalid_enum", "visibility"),
    /* required fields of a case */
    TEXT(make_case, c.title, "", "missing_field", "case.title"),
    TEXT(make_case, c.summary, "", "missing_field", "case.summary"),
    TEXT(make_case, c.prefecture, "", "missing_field", "case.prefecture"),
    ENUM(make_case, c.industry, RENKEI__INDUSTRY__INDUSTRY_UNSPECIFIED, "missing_field", "case.industry"),
    ENUM(make_case, c.dx_level, RENKEI__DX_LEVEL__DX_LEVEL_UNSPECIFIED, "missing_field", "case.dx_level"),
    /* enum values */
    ENUM(make_case, c.industry, 21, "invalid_enum", "case.industry"),
    ENUM(make_case, skills[1], 999, "invalid_enum", "case.skills[1]"),
    ENUM(make_case, skills[1], RENKEI__SKILL__SKILL_UNSPECIFIED, "invalid_enum", "case.skills[1]"),
    ENUM(make_case, org.org_type, 14, "invalid_enum", "case.organisation.org_type"),
    ENUM(make_region, industries[0], -1, "invalid_enum", "region.key_industries[0]"),
    /* UTF-8 */
    TEXT(make_case, c.summary, "ok \xff bad", "invalid_utf8", "case.summary"),
    TEXT(make_case, tags[1], "\xe3\x81", "invalid_utf8", "case.tags[1]"), /* truncated three-byte sequence */
    TEXT(make_case, link.title, "\xed\xa0\x80", "invalid_utf8", "case.sources[0].title"), /* encoded surrogate */
    /* the language tag */
    TEXT(make_case, r.language, "en-Latn-GB-x-aaaaaaaa-bbbbbbbb-cccccc", "too_long", "language"), /* 36 chars */
    TEXT(make_case, r.language, "ja JP", "invalid_value", "language"),
    /* places, dates and URLs */
    TEXT(make_case, c.prefecture, "48", "invalid_prefecture", "case.prefecture"),
    TEXT(make_case, c.prefecture, "1", "invalid_prefecture", "case.prefecture"),
    TEXT(make_case, c.prefecture, "00", "invalid_prefecture", "case.prefecture"),
    TEXT(make_case, c.municipality, "3410", "invalid_value", "case.municipality"),
    TEXT(make_case, c.municipality, "99100", "invalid_value", "case.municipality"),
    TEXT(make_case, c.municipality, "341002", NULL, NULL),
    TEXT(make_case, period.start, "2022-13", "invalid_date", "case.period.start"),
    TEXT(make_case, period.start, "2022-02-30", "invalid_date", "case.period.start"),
    TEXT(make_case, period.start, "2022-04-01x", "invalid_date", "case.period.start"),
    TEXT(make_case, period.fiscal_year, "R4", "invalid_date", "case.period.fiscal_year"),
    TEXT(make_case, link.url, "javascript:alert(1)", "invalid_value", "case.sources[0].url"),
    TEXT(make_case, link.url, "https://", "invalid_value", "case.sources[0].url"),
    /* events */
    TEXT(make_event, e.title, "", "missing_field", "event.title"),
    TEXT(make_event, e.starts_at, "", "missing_field", "event.starts_at"),
    TEXT(make_event, e.ends_at, "", "missing_field", "event.ends_at"),
    TEXT(make_event, e.prefecture, "", "missing_field", "event.prefecture"),
    ENUM(make_event, e.event_type, RENKEI__EVENT_TYPE__EVENT_TYPE_UNSPECIFIED, "missing_field", "event.event_type"),
    ENUM(make_event, e.format, RENKEI__EVENT_FORMAT__EVENT_FORMAT_UNSPECIFIED, "missing_field", "event.format"),
    TEXT(make_event, e.starts_at, "2023-05-10T13:00:00", "invalid_date", "event.starts_at"), /* no offset */
    TEXT(make_event, e.ends_at, "2023-05-10T12:59:59+09:00", "invalid_date", "event.ends_at"),
    /* the same instant as the start written with another offset is not "before" */
    TEXT(make_event, e.ends_at, "2023-05-10T04:00:00Z", NULL, NULL),
    TEXT(make_event, venue.prefecture, "50", "invalid_prefecture", "event.venue.prefecture"),
    TEXT(make_event, regions[1], "99", "invalid_prefecture", "event.regions[1]"),
    TEXT(make_event, e.application_url, "ftp://example.jp/", "invalid_value", "event.application_url"),
    TEXT(make_event, e.application_deadline, "2023-13-01", "invalid_date", "event.application_deadline"),
    TEXT(make_event, e.application_deadline, "2023-04-30T23:59:00+09:00", NULL, NULL),
    TEXT(make_event, agenda.starts_at, "25:00", "invalid_date", "event.agenda[0].starts_at"),
    /* regions */
    TEXT(make_region, p.name, "", "missing_field", "region.name"),
    ENUM(make_region, p.node_kind, RENKEI__NODE_KIND__NODE_KIND_UNSPECIFIED, "missing_field", "region.node_kind"),
    TEXT(make_region, p.prefecture, "4７", "invalid_prefecture", "region.prefecture"), /* full-width digit */
    TEXT(make_region, p.website, "www.example.jp", "invalid_value", "region.website"),
};

static void test_rules(void **state)
{
    fixture *f = *state;
    for (size_t i = 0; i < sizeof rule_cases / sizeof rule_cases[0]; i++) {
        const rule_case *rc = &rule_cases[i];
        rc->make(f);
        char *member = (char *)f + rc->offset;
        if (rc->text)
            *(const char **)member = rc->text;
        else
            *(int *)member = rc->value;
        char label[64];
        snprintf(label, sizeof label, "rule_cases[%zu]", i);
        expect_result(&f->r, rc->code, rc->field, label);
    }
}

/* Rules that the table cannot say: fields of other types, and changes of more than one field. */
static void test_other_rules(void **state)
{
    fixture *f = *state;
    make_case(f);
    f->r.author.len = 31;
    expect_reject(&f->r, "invalid_author", "author");
    make_case(f);
    f->r.version = 0;
    expect_reject(&f->r, "invalid_version", "version");
    make_case(f);
    f->metric.value = NAN;
    expect_reject(&f->r, "invalid_value", "case.results[0].value");
    /* Skills and tags may be empty. */
    make_case(f);
    f->c.n_skills = 0;
    f->c.n_tags = 0;
    expect_ok(&f->r);
    /* the language is checked as UTF-8 whatever the rid */
    make_case(f);
    f->r.rid = "ok";
    f->r.language = "\xc0\xaf"; /* overlong */
    expect_reject(&f->r, "invalid_utf8", "language");
}

/* A length limit on one text of a case (the member at offset in the fixture): max characters pass,
 * one more is too_long at field. */
typedef struct length_case {
    size_t offset;
    size_t max;
    const char *field;
} length_case;

static const length_case length_cases[] = {
    {offsetof(fixture, c.title), 300, "case.title"},
    {offsetof(fixture, c.summary), 20000, "case.summary"},
    {offsetof(fixture, tags[0]), 200, "case.tags[0]"},
};

static void test_lengths(void **state)
{
    fixture *f = *state;
    for (size_t i = 0; i < sizeof length_cases / sizeof length_cases[0]; i++) {
        const length_case *lc = &length_cases[i];
        make_case(f);
        *(char **)((char *)f + lc->offset) = f->long_text;
        memset(f->long_text, 'x', lc->max + 1);
        f->long_text[lc->max] = '\0';
        expect_ok(&f->r);
        f->long_text[lc->max] = 'x';
        f->long_text[lc->max + 1] = '\0';
        expect_reject(&f->r, "too_long", lc->field);
    }

    make_case(f);
    for (int i = 0; i < 65; i++)
        f->many[i] = "tag";
    f->c.tags = f->many;
    f->c.n_tags = 64;
    expect_ok(&f->r);
    f->c.n_tags = 65;
    expect_reject(&f->r, "too_many", "case.tags");
    /* the path of an item past the ninth and of the last one allowed */
    f->c.n_tags = 64;
    f->many[42] = "\xe3\x81";
    expect_reject(&f->r, "invalid_utf8", "case.tags[42]");
    f->many[42] = "tag";
    f->many[63] = "\xff";
    expect_reject(&f->r, "invalid_utf8", "case.tags[63]");
}

static void test_taxonomy(void **state)
{
    (void)state;
    assert_string_equal(rk_prefecture_name("01"), "北海道");
    assert_string_equal(rk_prefecture_name("13"), "東京都");
    assert_string_equal(rk_prefecture_name("17"), "石川県");
    assert_string_equal(rk_prefecture_name("47"), "沖縄県");
    assert_null(rk_prefecture_name("48"));
    assert_null(rk_prefecture_name("011"));
    int valid = 0;
    for (int i = 0; i < 100; i++) {
        char code[3] = {(char)('0' + i / 10), (char)('0' + i % 10), '\0'};
        valid += rk_prefecture_valid(code);
        assert_int_equal(rk_prefecture_valid(code), rk_prefecture_name(code) != NULL);
    }
    assert_int_equal(valid, 47);

    assert_string_equal(rk_label_ja(&renkei__industry__descriptor, RENKEI__INDUSTRY__INDUSTRY_MANUFACTURING), "製造業");
    assert_string_equal(rk_label_ja(&renkei__industry__descriptor, RENKEI__INDUSTRY__INDUSTRY_UNCLASSIFIED),
                        "分類不能の産業");
    assert_string_equal(rk_label_ja(&renkei__dx_level__descriptor, RENKEI__DX_LEVEL__DX_LEVEL_CULTURE),
                        "企業文化・組織マインドの変革");
    assert_string_equal(rk_label_ja(&renkei__event_type__descriptor, RENKEI__EVENT_TYPE__EVENT_TYPE_EXCHANGE_MEETING),
                        "情報交換会");
    assert_string_equal(rk_label_ja(&renkei__audience__descriptor, RENKEI__AUDIENCE__AUDIENCE_DIGITAL_TALENT),
                        "高度デジタル人材");
    assert_string_equal(rk_label_ja(&renkei__skill__descriptor, RENKEI__SKILL__SKILL_IT_PASSPORT), "ITパスポート");
    assert_string_equal(rk_label_ja(&renkei__node_kind__descriptor, RENKEI__NODE_KIND__NODE_KIND_NATIONAL), "全国");
    /* Every value of the labelled taxonomies has a label. */
    const ProtobufCEnumDescriptor *labelled[] = {&renkei__industry__descriptor, &renkei__dx_level__descriptor,
                                                 &renkei__skill__descriptor,    &renkei__event_type__descriptor,
                                                 &renkei__audience__descriptor, &renkei__node_kind__descriptor};
    for (size_t i = 0; i < sizeof labelled / sizeof labelled[0]; i++)
        for (unsigned v = 1; v < labelled[i]->n_values; v++) {
            const char *label = rk_label_ja(labelled[i], labelled[i]->values[v].value);
            assert_non_null(label);
            assert_string_not_equal(label, rk_taxonomy_code(labelled[i], labelled[i]->values[v].value));
        }
    /* Without a label the code is shown. */
    assert_string_equal(rk_label_ja(&renkei__org_type__descriptor, RENKEI__ORG_TYPE__ORG_TYPE_IT_VENDOR), "ITベンダー");
    /* Every value of every taxonomy `renkei codes` lists has a label, and labels are unique within
     * their taxonomy (they are accepted as input, so two equal labels would be ambiguous). */
    size_t nt;
    const rk_taxonomy *tx = rk_taxonomy_list(&nt);
    assert_true(nt >= 20);
    for (size_t i = 0; i < nt; i++) {
        assert_ptr_equal(rk_taxonomy_find(tx[i].name), &tx[i]);
        assert_ptr_equal(rk_taxonomy_find(tx[i].alias), &tx[i]);
        if (!tx[i].desc)
            continue;
        assert_ptr_equal(rk_taxonomy_of(tx[i].desc), &tx[i]);
        for (unsigned v = 1; v < tx[i].desc->n_values; v++) {
            int value = tx[i].desc->values[v].value;
            const char *label = rk_label_ja(tx[i].desc, value);
            assert_string_not_equal(label, rk_taxonomy_code(tx[i].desc, value));
            assert_int_equal(rk_taxonomy_value(tx[i].desc, label), value);
        }
    }
    assert_null(rk_taxonomy_find("bogus"));
    assert_null(rk_label_ja(&renkei__industry__descriptor, 0));
    assert_null(rk_label_ja(&renkei__industry__descriptor, 77));
}

static void test_prefecture_input_and_suggestions(void **state)
{
    (void)state;
    static const lookup_case parsed[] = {
        {"17", "17"},   {"石川県", "17"}, {"石川", "17"},   {"１７", "17"},   {"7", "07"},
        {"東京", "13"}, {"京都", "26"},   {"北海道", "01"}, {"鹿児島", "46"}, {"48", NULL},
        {"0", NULL},    {"石", NULL},     {"石川市", NULL}, {"", NULL},
    };
    EXPECT_LOOKUPS(rk_prefecture_parse, parsed);
    for (int n = 1; n <= 47; n++)
        assert_string_equal(rk_prefecture_parse(rk_prefecture_name(rk_prefecture_code(n))), rk_prefecture_code(n));

    static const lookup_case suggested[] = {
        {"石河県", "17"}, {"石河", "17"}, {"神奈河県", "14"}, {"ロンドン", NULL}, {"x", NULL},
    };
    EXPECT_LOOKUPS(rk_prefecture_suggest, suggested);
}

static void test_enum_suggestions(void **state)
{
    (void)state;
    assert_int_equal(rk_edit_distance("kitten", "sitting"), 3);
    assert_int_equal(rk_edit_distance("製造", "製造業"), 1);
    assert_int_equal(rk_edit_distance("", "abc"), 3);
    assert_int_equal(rk_edit_distance("\xff", "a"), -1);
    assert_int_equal(rk_taxonomy_suggest(&renkei__industry__descriptor, "manufactring"), 5);
    assert_int_equal(rk_taxonomy_suggest(&renkei__industry__descriptor, "製造"), 5);
    assert_int_equal(rk_taxonomy_suggest(&renkei__industry__descriptor, "Manufacturng"), 5);
    assert_int_equal(rk_taxonomy_suggest(&renkei__dx_level__descriptor, "valueadd"), 2);
    assert_int_equal(rk_taxonomy_suggest(&renkei__skill__descriptor, "robotcs"), RENKEI__SKILL__SKILL_ROBOTICS);
    assert_int_equal(rk_taxonomy_suggest(&renkei__event_type__descriptor, "セミナ"),
                     RENKEI__EVENT_TYPE__EVENT_TYPE_SEMINAR);
    /* far from everything: no suggestion rather than a wild guess */
    assert_int_equal(rk_taxonomy_suggest(&renkei__industry__descriptor, "banana"), -1);
    assert_int_equal(rk_taxonomy_suggest(&renkei__industry__descriptor, "q"), -1);
    assert_int_equal(rk_taxonomy_suggest(&renkei__industry__descriptor, ""), -1);
}

/* rk_record_check lists every missing field of a record, where validation used to stop at the first. */
static void test_all_missing_fields_listed(void **state)
{
    fixture *f = *state;
    make_event(f);
    f->e.title = "";
    f->e.format = RENKEI__EVENT_FORMAT__EVENT_FORMAT_UNSPECIFIED;
    f->e.prefecture = "99";
    rk_problems all;
    rk_problems_init(&all);
    rk_error first;
    rk_sink sink;
    rk_sink_init(&sink, &all, &first);
    assert_int_equal(rk_record_check(&f->r, &sink), -1);
    assert_int_equal(all.n, 3);
    assert_non_null(rk_problems_find(&all, "event.title"));
    assert_non_null(rk_problems_find(&all, "event.format"));
    assert_string_equal(rk_problems_find(&all, "event.prefecture")->code, "invalid_prefecture");
    assert_string_equal(first.field, all.items[0].field);
    rk_problems_free(&all);
    /* the plain check still reports the first one */
    rk_error err;
    assert_int_equal(rk_record_validate(&f->r, &err), -1);
    assert_string_equal(err.field, first.field);
}

static int setup(void **state)
{
    *state = test_malloc(sizeof(fixture));
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    test_free(*state);
    return 0;
}

int main(void)
{
    return RK_RUN_TESTS(setup, teardown, cmocka_unit_test(test_valid_records_pass), cmocka_unit_test(test_record_body),
                        cmocka_unit_test(test_rid), cmocka_unit_test(test_rules), cmocka_unit_test(test_other_rules),
                        cmocka_unit_test(test_lengths), cmocka_unit_test(test_taxonomy),
                        cmocka_unit_test(test_prefecture_input_and_suggestions),
                        cmocka_unit_test(test_enum_suggestions), cmocka_unit_test(test_all_missing_fields_listed));
}
