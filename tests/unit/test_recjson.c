/* Tests for lib/recjson.c: JSON -> protobuf -> JSON round trips for full records, the API view of
 * sealed records and tombstones, enum codes, and each error code with its field path. JSON is written
 * with single quotes in this file for readability and turned into real JSON by J(). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "codes_json.h"
#include "fixture.h"
#include "recjson.h"
#include "recview.h"
#include "run_tests.h"

static json_t *J(const char *single_quoted)
{
    char *text = strdup(single_quoted);
    assert_non_null(text);
    for (char *p = text; *p; p++)
        if (*p == '\'')
            *p = '"';
    json_error_t jerr;
    json_t *j = json_loads(text, JSON_ALLOW_NUL, &jerr);
    if (!j)
        print_error("bad test JSON (%s): %s\n", jerr.text, text);
    free(text);
    assert_non_null(j);
    return j;
}

static void assert_json_equal(json_t *got, json_t *want)
{
    if (!json_equal(got, want)) {
        char *g = json_dumps(got, JSON_SORT_KEYS | JSON_INDENT(1));
        char *w = json_dumps(want, JSON_SORT_KEYS | JSON_INDENT(1));
        print_error("got:\n%s\nwant:\n%s\n", g ? g : "(null)", w ? w : "(null)");
        free(g);
        free(w);
        fail();
    }
}

/* m rendered as JSON must equal want_json (single-quoted, as everywhere in this file). */
static void assert_message_json(const ProtobufCMessage *m, const char *want_json)
{
    json_t *got = rk_json_from_message(m);
    json_t *want = J(want_json);
    assert_json_equal(got, want);
    json_decref(got);
    json_decref(want);
}

#define MIN_CASE "'title':'t','summary':'s','prefecture':'01','industry':'E','dx_level':'efficiency'"
#define KEY_HEX "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define MIN_EVENT                                                                 \
    "'title':'t','event_type':'seminar','starts_at':'2021-10-10T13:00:00+09:00'," \
    "'ends_at':'2021-10-10T16:30:00+09:00','format':'online','prefecture':'24'"

static const char *const full_case =
    "{'kind':'case','rid':'hiroshima-it-passport','visibility':'network','language':'ja',"
    "'case':{'title':'ＡＩ活用人材の育成 ｶﾅ','summary':'ITパスポート受験料を補助','case_kind':'support_program',"
    "'organisation':{'name':'広島県','anonymised':true,'org_type':'prefecture','employees':4294967295,"
    "'size_band':'large'},"
    "'prefecture':'34','municipality':'34100','place_name':'広島市','industry':'public_service',"
    "'challenge':'DX人材不足','initiative':'宣言制度','technologies':['e-learning','ＡＩ'],"
    "'reskilling_type':'tool_mastery','skills':['it_passport','ai','data_analysis'],"
    "'target_layers':['employee','owner'],'dx_level':'culture','digital_stage':'digitalization',"
    "'process_step':'vision','dx_roles':['data_scientist','business_architect'],"
    "'support_organisations':['商工会議所'],'support_types':['subsidy','certification'],'funding':['県予算'],"
    "'results':[{'metric':'合格者','value':2700.0,'unit':'人','baseline':1400.0,'period':'FY2022'},"
    "{'metric':'宣言企業','value':170.5}],"
    "'lessons':'表彰が効いた','failures':'周知が遅れた','period':{'start':'2022-04','fiscal_year':'2022'},"
    "'spread':{'status':'adopted_elsewhere','adopted_by':['31','41']},"
    "'sources':[{'title':'県のページ','url':'https://www.pref.hiroshima.lg.jp/'}],"
    "'contact':{'name':'担当','organisation':'商工労働局','email':'dx@example.jp','phone':'082-000-0000',"
    "'url':'https://example.jp/'},"
    "'tags':['リスキリング','ＩＴ']}}";

static const char *const full_event =
    "{'kind':'event','rid':'colead-2021-meetup','visibility':'public','language':'en',"
    "'event':{'title':'ふるさと Co-LEAD オンライン交流会','event_type':'meetup','summary':'3地域と16人のプロ',"
    "'organiser':'経済産業省','co_organisers':['北見市','桑名市'],'regions':['01','24','47'],"
    "'starts_at':'2021-10-10T13:00:00+09:00','ends_at':'2021-10-10T16:30:00+09:00',"
    "'time_zone':'Asia/Tokyo','date_precision':'time','recurrence':'half_yearly','format':'hybrid',"
    "'online_platform':'Zoom','venue':{'name':'サテライトオフィス北見','address':'北見市','prefecture':'01'},"
    "'prefecture':'01','open_scope':'nationwide','audience':['municipal_staff','digital_talent'],"
    "'capacity':100,'fee_yen':1000,'application_url':'https://example.jp/apply',"
    "'application_deadline':'2021-10-01','skills':['ai','iot'],'dx_level_fit':'beginner',"
    "'subsidy_eligible':true,"
    "'agenda':[{'starts_at':'13:00','ends_at':'14:00','title':'開会','speaker':'事務局'},"
    "{'starts_at':'14:00','ends_at':'16:30','title':'地域発表'}],"
    "'speakers':[{'name':'講師','affiliation':'IPA'}],'status':'scheduled',"
    "'contact':{'email':'colead@example.jp'},'tags':['交流会']}}";

static Renkei__Record *from_json_ok(const char *text)
{
    json_t *j = J(text);
    Renkei__Record *r = NULL;
    rk_error err;
    rk_error_clear(&err);
    int rc = rk_record_from_json(j, &r, &err);
    if (rc != 0)
        print_error("unexpected rejection: %s at %s: %s\n", err.code, err.field, err.message);
    json_decref(j);
    assert_int_equal(rc, 0);
    assert_non_null(r);
    return r;
}

static void test_full_case_round_trip(void **state)
{
    (void)state;
    Renkei__Record *r = from_json_ok(full_case);
    assert_int_equal(r->kind, RENKEI__KIND__KIND_CASE);
    assert_int_equal(r->visibility, RENKEI__VISIBILITY__VISIBILITY_NETWORK);
    assert_int_equal(r->body_case, RENKEI__RECORD__BODY_CASE);
    const Renkei__Case *c = r->case_;
    assert_string_equal(c->title, "ＡＩ活用人材の育成 ｶﾅ");
    assert_int_equal(c->industry, RENKEI__INDUSTRY__INDUSTRY_PUBLIC_SERVICE);
    assert_int_equal(c->n_skills, 3);
    assert_int_equal(c->skills[1], RENKEI__SKILL__SKILL_AI);
    assert_int_equal(c->organisation->anonymised, 1);
    assert_int_equal(c->organisation->employees, 4294967295u);
    assert_int_equal(c->n_results, 2);
    assert_true(c->results[1]->value == 170.5);
    assert_true(c->results[0]->baseline == 1400.0);
    assert_int_equal(c->spread->n_adopted_by, 2);
    assert_string_equal(c->spread->adopted_by[1], "41");
    assert_string_equal(c->sources[0]->url, "https://www.pref.hiroshima.lg.jp/");

    assert_message_json(&r->base, full_case);
    renkei__record__free_unpacked(r, NULL);
}

static void test_full_event_round_trip(void **state)
{
    (void)state;
    Renkei__Record *r = from_json_ok(full_event);
    const Renkei__Event *e = r->event;
    assert_int_equal(r->kind, RENKEI__KIND__KIND_EVENT);
    assert_string_equal(r->language, "en");
    assert_int_equal(e->n_agenda, 2);
    assert_string_equal(e->agenda[1]->title, "地域発表");
    assert_int_equal(e->audience[1], RENKEI__AUDIENCE__AUDIENCE_DIGITAL_TALENT);
    assert_int_equal(e->capacity, 100);
    assert_int_equal(e->fee_yen, 1000);
    assert_int_equal(e->subsidy_eligible, 1);
    assert_int_equal(e->recurrence, RENKEI__RECURRENCE__RECURRENCE_HALF_YEARLY);
    assert_string_equal(e->venue->name, "サテライトオフィス北見");

    assert_message_json(&r->base, full_event);
    renkei__record__free_unpacked(r, NULL);
}

static void test_defaults_and_aliases(void **state)
{
    (void)state;
    Renkei__Record *r = from_json_ok("{'kind':'case','case':{" MIN_CASE ",'organisation':null,'tags':[]}}");
    assert_int_equal(r->case_->industry, RENKEI__INDUSTRY__INDUSTRY_MANUFACTURING);
    assert_int_equal(r->visibility, RENKEI__VISIBILITY__VISIBILITY_PUBLIC);
    assert_string_equal(r->language, "ja");
    assert_null(r->case_->organisation);
    assert_message_json(&r->base,
                        "{'kind':'case','visibility':'public','language':'ja','case':{'title':'t',"
                        "'summary':'s','prefecture':'01','industry':'manufacturing','dx_level':'efficiency'}}");
    renkei__record__free_unpacked(r, NULL);

    /* An empty language means the default too. */
    r = from_json_ok("{'kind':'region','language':'','region':{'name':'北見市','node_kind':'region',"
                     "'key_industries':['A','fisheries','T']}}");
    assert_string_equal(r->language, "ja");
    assert_int_equal(r->region->key_industries[0], RENKEI__INDUSTRY__INDUSTRY_AGRICULTURE_FORESTRY);
    assert_int_equal(r->region->key_industries[2], RENKEI__INDUSTRY__INDUSTRY_UNCLASSIFIED);
    renkei__record__free_unpacked(r, NULL);
}

static void test_enum_codes(void **state)
{
    (void)state;
    assert_string_equal(rk_enum_code(&renkei__industry__descriptor, 5), "manufacturing");
    assert_string_equal(rk_enum_code(&renkei__dx_level__descriptor, 2), "value_add");
    assert_string_equal(rk_enum_code(&renkei__dx_level_fit__descriptor, 1), "beginner");
    assert_string_equal(rk_enum_code(&renkei__support_type__descriptor, 8), "e_learning");
    assert_string_equal(rk_enum_code(&renkei__kind__descriptor, 4), "tombstone");
    assert_null(rk_enum_code(&renkei__industry__descriptor, 0));
    assert_null(rk_enum_code(&renkei__industry__descriptor, 21));
    assert_int_equal(rk_enum_parse(&renkei__industry__descriptor, "E"), RENKEI__INDUSTRY__INDUSTRY_MANUFACTURING);
    assert_int_equal(rk_enum_parse(&renkei__industry__descriptor, "A"), 1);
    assert_int_equal(rk_enum_parse(&renkei__industry__descriptor, "T"), 20);
    assert_int_equal(rk_enum_parse(&renkei__industry__descriptor, "U"), -1);
    assert_int_equal(rk_enum_parse(&renkei__industry__descriptor, "e"), -1);
    assert_int_equal(rk_enum_parse(&renkei__skill__descriptor, "E"), -1);
    assert_int_equal(rk_enum_parse(&renkei__industry__descriptor, "unspecified"), -1);
    /* typed input: any case and width, hyphens or spaces for underscores, the Japanese label */
    assert_int_equal(rk_enum_parse(&renkei__industry__descriptor, "MANUFACTURING"), 5);
    assert_int_equal(rk_enum_parse(&renkei__industry__descriptor, "製造業"), 5);
    assert_int_equal(rk_enum_parse(&renkei__industry__descriptor, " Manufacturing "), 5);
    assert_int_equal(rk_enum_parse(&renkei__industry__descriptor, "サービス業(他に分類されないもの)"), 18);
    assert_int_equal(rk_enum_parse(&renkei__dx_level__descriptor, "Value-Add"), 2);
    assert_int_equal(rk_enum_parse(&renkei__skill__descriptor, "AI"), RENKEI__SKILL__SKILL_AI);
    assert_int_equal(rk_enum_parse(&renkei__skill__descriptor, "ＩｏＴ"), RENKEI__SKILL__SKILL_IOT);
    assert_int_equal(rk_enum_parse(&renkei__event_format__descriptor, "オンライン"), 1);
    assert_int_equal(rk_enum_parse(&renkei__industry__descriptor, "製造"), -1);
    assert_int_equal(rk_enum_parse(&renkei__industry__descriptor, "manufactring"), -1);
    assert_int_equal(rk_enum_parse(&renkei__industry__descriptor, ""), -1);

    /* Every nonzero value of every enum has a lower-case code that parses back to it. */
    const ProtobufCEnumDescriptor *all[] = {
        &renkei__kind__descriptor,          &renkei__visibility__descriptor,      &renkei__node_kind__descriptor,
        &renkei__case_kind__descriptor,     &renkei__industry__descriptor,        &renkei__dx_level__descriptor,
        &renkei__digital_stage__descriptor, &renkei__dx_process_step__descriptor, &renkei__reskilling_type__descriptor,
        &renkei__dx_role__descriptor,       &renkei__audience__descriptor,        &renkei__org_type__descriptor,
        &renkei__size_band__descriptor,     &renkei__support_type__descriptor,    &renkei__event_type__descriptor,
        &renkei__skill__descriptor,         &renkei__event_format__descriptor,    &renkei__open_scope__descriptor,
        &renkei__event_status__descriptor,  &renkei__date_precision__descriptor,  &renkei__recurrence__descriptor,
        &renkei__dx_level_fit__descriptor,  &renkei__spread_status__descriptor,
    };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        for (unsigned k = 0; k < all[i]->n_values; k++) {
            int v = all[i]->values[k].value;
            const char *code = rk_enum_code(all[i], v);
            if (v == 0) {
                assert_null(code);
                continue;
            }
            assert_non_null(code);
            assert_null(strpbrk(code, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"));
            assert_int_equal(rk_enum_parse(all[i], code), v);
            /* The prefix is gone: a code never repeats the enum's own name. */
            assert_true(strlen(code) < strlen(all[i]->values[k].name));
        }
}

static void test_sealed_record_view(void **state)
{
    (void)state;
    rk_error err;
    rk_key *key = NULL;
    assert_int_equal(rk_key_generate(&key, &err), 0);
    uint8_t pub[RK_KEY_LEN];
    rk_key_public(key, pub);

    Renkei__Record *r = from_json_ok(full_case);
    r->author.data = malloc(RK_KEY_LEN);
    assert_non_null(r->author.data);
    memcpy(r->author.data, pub, RK_KEY_LEN);
    r->author.len = RK_KEY_LEN;
    r->version = 1700000000123ULL;
    r->created_at = 1700000000000ULL;
    rk_record rec;
    assert_int_equal(rk_record_seal(r, key, &rec, &err), 0);

    json_t *view = rk_record_to_json(&rec, "広島県");
    assert_non_null(view);
    char pub_hex[2 * RK_KEY_LEN + 1], hash_hex[2 * RK_HASH_LEN + 1], sig_hex[2 * RK_SIG_LEN + 1];
    rk_hex_encode(pub, RK_KEY_LEN, pub_hex);
    rk_hex_encode(rec.hash, RK_HASH_LEN, hash_hex);
    rk_hex_encode(rec.sig, RK_SIG_LEN, sig_hex);
    char id[RK_ID_MAX];
    snprintf(id, sizeof id, "%s:hiroshima-it-passport", pub_hex);
    assert_string_equal(json_string_value(json_object_get(view, "id")), id);
    assert_string_equal(json_string_value(json_object_get(view, "author")), pub_hex);
    assert_string_equal(json_string_value(json_object_get(view, "hash")), hash_hex);
    assert_string_equal(json_string_value(json_object_get(view, "signature")), sig_hex);
    assert_int_equal(json_integer_value(json_object_get(view, "version")), 1700000000123LL);
    assert_int_equal(json_integer_value(json_object_get(view, "created_at")), 1700000000000LL);
    assert_null(json_object_get(view, "deleted"));
    json_t *prov = json_object_get(view, "provenance");
    assert_string_equal(json_string_value(json_object_get(prov, "author")), pub_hex);
    assert_string_equal(json_string_value(json_object_get(prov, "node")), "広島県");
    assert_int_equal(json_integer_value(json_object_get(prov, "version")), 1700000000123LL);
    assert_string_equal(json_string_value(json_object_get(prov, "hash")), hash_hex);
    assert_string_equal(json_string_value(json_object_get(prov, "signature")), sig_hex);
    json_t *want_body = J(full_case);
    assert_json_equal(json_object_get(view, "case"), json_object_get(want_body, "case"));
    json_decref(want_body);

    /* A fetched record can be edited and sent back: output-only keys are ignored. */
    json_object_set_new(json_object_get(view, "case"), "title", json_string("改訂版"));
    Renkei__Record *again = NULL;
    assert_int_equal(rk_record_from_json(view, &again, &err), 0);
    assert_string_equal(again->case_->title, "改訂版");
    assert_int_equal(again->version, 0);
    assert_int_equal(again->author.len, 0);
    assert_string_equal(again->rid, "hiroshima-it-passport");
    renkei__record__free_unpacked(again, NULL);
    json_decref(view);

    view = rk_record_to_json(&rec, NULL);
    assert_true(json_is_null(json_object_get(json_object_get(view, "provenance"), "node")));
    json_decref(view);
    rk_record_free(&rec);
    renkei__record__free_unpacked(r, NULL);
    rk_key_free(key);
}

static void test_tombstone(void **state)
{
    (void)state;
    rk_error err;
    fx_author a;
    fx_author_init(&a);
    Renkei__Record r = RENKEI__RECORD__INIT;
    Renkei__Tombstone t = RENKEI__TOMBSTONE__INIT;
    t.reason = "重複登録";
    fx_body(&r, RENKEI__KIND__KIND_TOMBSTONE, &t);
    rk_record rec;
    fx_seal(&a, &r, "old-case", 42, RENKEI__VISIBILITY__VISIBILITY_PUBLIC, &rec);
    json_t *view = rk_record_to_json(&rec, "北見市");
    assert_non_null(view);
    assert_string_equal(json_string_value(json_object_get(view, "kind")), "tombstone");
    assert_true(json_is_true(json_object_get(view, "deleted")));
    assert_string_equal(json_string_value(json_object_get(json_object_get(view, "tombstone"), "reason")), "重複登録");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(view, "provenance"), "version")), 42);

    /* Tombstones are made by deleting, never published as JSON. */
    Renkei__Record *back = NULL;
    assert_int_equal(rk_record_from_json(view, &back, &err), -1);
    assert_string_equal(err.code, "invalid_enum");
    assert_string_equal(err.field, "kind");
    assert_null(back);
    json_decref(view);
    rk_record_free(&rec);
    fx_author_free(&a);
}

static const struct {
    const char *json;
    const char *code;
    const char *field;
} bad_inputs[] = {
    {"['not','an','object']", "wrong_type", ""},
    {"{'case':{" MIN_CASE "}}", "missing_field", "kind"},
    {"{'kind':'case'}", "missing_field", "case"},
    {"{'kind':'case','case':null}", "missing_field", "case"},
    {"{'kind':3,'case':{" MIN_CASE "}}", "wrong_type", "kind"},
    {"{'kind':'unspecified','case':{" MIN_CASE "}}", "invalid_enum", "kind"},
    {"{'kind':'tombstone','tombstone':{}}", "invalid_enum", "kind"},
    {"{'kind':'event','case':{" MIN_CASE "}}", "kind_mismatch", "case"},
    {"{'kind':'case','case':{" MIN_CASE "},'event':{}}", "kind_mismatch", "event"},
    {"{'kind':'case','case':{" MIN_CASE "},'tombstone':{}}", "kind_mismatch", "tombstone"},
    {"{'kind':'case','colour':'red','case':{" MIN_CASE "}}", "unknown_field", "colour"},
    {"{'kind':'case','case':{" MIN_CASE ",'colour':'red'}}", "unknown_field", "case.colour"},
    {"{'kind':'case','case':{" MIN_CASE ",'organisation':{'nmae':'x'}}}", "unknown_field", "case.organisation.nmae"},
    {"{'kind':'case','case':{" MIN_CASE ",'results':[{},{'metrc':'x'}]}}", "unknown_field", "case.results[1].metrc"},
    {"{'kind':'case','rid':'a b','case':{" MIN_CASE "}}", "invalid_rid", "rid"},
    /* membership rids (fuzz_record found a region record at rotate.…, refused only when sealed) */
    {"{'kind':'region','rid':'rotate.region-Kitami','region':{'name':'北見市','node_kind':'region'}}", "invalid_rid",
     "rid"},
    {"{'kind':'endorse','rid':'endorse.00','endorse':{'key':'" KEY_HEX "','name':'x'}}", "invalid_rid", "rid"},
    {"{'kind':'case','rid':7,'case':{" MIN_CASE "}}", "wrong_type", "rid"},
    {"{'kind':'case','visibility':'secret','case':{" MIN_CASE "}}", "invalid_enum", "visibility"},
    {"{'kind':'case','case':{" MIN_CASE ",'skills':'ai'}}", "wrong_type", "case.skills"},
    {"{'kind':'case','case':{" MIN_CASE ",'skills':['ai','iot',3]}}", "wrong_type", "case.skills[2]"},
    {"{'kind':'case','case':{" MIN_CASE ",'skills':['ai','iot','juggling']}}", "invalid_enum", "case.skills[2]"},
    {"{'kind':'case','case':{" MIN_CASE ",'skills':['ai',null]}}", "wrong_type", "case.skills[1]"},
    {"{'kind':'case','case':{" MIN_CASE ",'case_kind':'unspecified'}}", "invalid_enum", "case.case_kind"},
    {"{'kind':'case','case':{'title':'t','summary':'s','prefecture':'01','industry':'U','dx_level':'culture'}}",
     "invalid_enum", "case.industry"},
    {"{'kind':'case','case':{" MIN_CASE ",'title':5}}", "wrong_type", "case.title"},
    {"{'kind':'case','case':{" MIN_CASE ",'organisation':'x'}}", "wrong_type", "case.organisation"},
    {"{'kind':'case','case':{" MIN_CASE ",'organisation':{'employees':3.5}}}", "wrong_type",
     "case.organisation.employees"},
    {"{'kind':'case','case':{" MIN_CASE ",'organisation':{'employees':-1}}}", "invalid_value",
     "case.organisation.employees"},
    {"{'kind':'case','case':{" MIN_CASE ",'organisation':{'employees':4294967296}}}", "invalid_value",
     "case.organisation.employees"},
    {"{'kind':'case','case':{" MIN_CASE ",'organisation':{'anonymised':'yes'}}}", "wrong_type",
     "case.organisation.anonymised"},
    {"{'kind':'case','case':{" MIN_CASE ",'results':[{'value':'many'}]}}", "wrong_type", "case.results[0].value"},
    {"{'kind':'case','case':{" MIN_CASE ",'tags':['a\\u0000b']}}", "invalid_value", "case.tags[0]"},
    {"{'kind':'case','case':{'summary':'s','prefecture':'01','industry':'E','dx_level':'efficiency'}}", "missing_field",
     "case.title"},
    {"{'kind':'case','case':{" MIN_CASE ",'prefecture':'48'}}", "invalid_prefecture", "case.prefecture"},
    {"{'kind':'case','language':'ja_JP!','case':{" MIN_CASE "}}", "invalid_value", "language"},
    {"{'kind':'event','event':{" MIN_EVENT ",'ends_at':'2021-10-10T12:00:00+09:00'}}", "invalid_date", "event.ends_at"},
    {"{'kind':'event','event':{" MIN_EVENT ",'starts_at':'10/10/2021'}}", "invalid_date", "event.starts_at"},
    {"{'kind':'event','event':{" MIN_EVENT ",'regions':['01','x']}}", "invalid_prefecture", "event.regions[1]"},
    {"{'kind':'event','event':{" MIN_EVENT ",'capacity':1e3}}", "wrong_type", "event.capacity"},
    {"{'kind':'region','region':{'node_kind':'national'}}", "missing_field", "region.name"},
};

static void test_errors_name_code_and_path(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_inputs / sizeof bad_inputs[0]; i++) {
        json_t *j = J(bad_inputs[i].json);
        Renkei__Record *r = (Renkei__Record *)1;
        rk_error err;
        rk_error_clear(&err);
        int rc = rk_record_from_json(j, &r, &err);
        if (rc != -1 || strcmp(err.code, bad_inputs[i].code) != 0 || strcmp(err.field, bad_inputs[i].field) != 0)
            print_error("input %zu %s: got rc %d %s at '%s' (%s), want %s at '%s'\n", i, bad_inputs[i].json, rc,
                        err.code, err.field, err.message, bad_inputs[i].code, bad_inputs[i].field);
        assert_int_equal(rc, -1);
        assert_null(r);
        assert_string_equal(err.code, bad_inputs[i].code);
        assert_string_equal(err.field, bad_inputs[i].field);
        json_decref(j);
    }
}

/* Labels, names and case variants are read as codes; the record holds the canonical values. */
static void test_input_aliases(void **state)
{
    (void)state;
    Renkei__Record *r = from_json_ok("{'kind':'Case','visibility':'公開','case':{'title':'t','summary':'s',"
                                     "'prefecture':'石川県','industry':'製造業','dx_level':'VALUE_ADD',"
                                     "'skills':['AI','データ分析',''],'case_kind':''}}");
    assert_string_equal(r->case_->prefecture, "17");
    assert_int_equal(r->case_->industry, RENKEI__INDUSTRY__INDUSTRY_MANUFACTURING);
    assert_int_equal(r->case_->dx_level, RENKEI__DX_LEVEL__DX_LEVEL_VALUE_ADD);
    assert_int_equal(r->case_->n_skills, 2); /* "" is "not given", in a list too */
    assert_int_equal(r->case_->skills[0], RENKEI__SKILL__SKILL_AI);
    assert_int_equal(r->case_->skills[1], RENKEI__SKILL__SKILL_DATA_ANALYSIS);
    assert_int_equal(r->case_->case_kind, 0);
    assert_int_equal(r->visibility, RENKEI__VISIBILITY__VISIBILITY_PUBLIC);
    json_t *out = rk_json_from_message(&r->base);
    assert_string_equal(json_string_value(json_object_get(json_object_get(out, "case"), "industry")), "manufacturing");
    json_decref(out);
    renkei__record__free_unpacked(r, NULL);

    /* the name without 都/府/県, full-width digits, an event's regions and a venue */
    r = from_json_ok(
        "{'kind':'event','event':{'title':'t','event_type':'セミナー','starts_at':'2030-01-01T10:00:00+09:00',"
        "'ends_at':'2030-01-01T12:00:00+09:00','format':'Hybrid','prefecture':'京都',"
        "'regions':['東京','１７','7'],'venue':{'prefecture':'北海道'}}}");
    assert_string_equal(r->event->prefecture, "26");
    assert_string_equal(r->event->regions[0], "13");
    assert_string_equal(r->event->regions[1], "17");
    assert_string_equal(r->event->regions[2], "07");
    assert_string_equal(r->event->venue->prefecture, "01");
    renkei__record__free_unpacked(r, NULL);

    size_t len = 5;
    assert_string_equal(rk_json_skip_bom("\xEF\xBB\xBF{}\n", &len), "{}\n");
    assert_int_equal(len, 2);
    len = 2;
    assert_string_equal(rk_json_skip_bom("{}", &len), "{}");
    assert_int_equal(len, 2);
}

/* Every mistake of a record in one pass, one per field, with suggestions for near misses. */
static void test_all_problems_at_once(void **state)
{
    (void)state;
    json_t *j = J("{'kind':'case','bogus':1,'case':{'title':'','summary':'s','prefecture':'石河県',"
                  "'industry':'manufactring','dx_level':'valueadd','skills':['AI','robotcs'],'employees':'x'}}");
    rk_problems all;
    rk_problems_init(&all);
    rk_error first;
    Renkei__Record *r = (Renkei__Record *)1;
    assert_int_equal(rk_record_from_json_all(j, &r, &all, &first), -1);
    assert_null(r);
    static const struct {
        const char *field, *code, *suggestion;
    } want[] = {
        {"bogus", "unknown_field", ""},
        {"case.prefecture", "invalid_prefecture", "17"},
        {"case.industry", "invalid_enum", "manufacturing"},
        {"case.dx_level", "invalid_enum", "value_add"},
        {"case.skills[1]", "invalid_enum", "robotics"},
        {"case.employees", "unknown_field", ""},
        {"case.title", "missing_field", ""},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const rk_problem *p = rk_problems_find(&all, want[i].field);
        if (!p)
            print_error("no problem for %s\n", want[i].field);
        assert_non_null(p);
        assert_string_equal(p->code, want[i].code);
        assert_string_equal(p->suggestion, want[i].suggestion);
        assert_true(p->message[0] && p->message_ja[0]);
    }
    assert_int_equal(all.n, sizeof want / sizeof want[0]);
    /* the first problem is also the plain error, as the API's error.code/field */
    assert_string_equal(first.field, all.items[0].field);
    assert_string_equal(first.code, all.items[0].code);
    /* a rejected required value is reported once, as rejected, not again as missing */
    const rk_problem *ind = rk_problems_find(&all, "case.industry");
    assert_non_null(strstr(ind->message, "renkei codes industry"));
    assert_non_null(strstr(ind->message_ja, "「manufacturing」（製造業）のことですか"));

    json_t *details = rk_problems_to_json(&all);
    assert_int_equal(json_array_size(details), all.n);
    json_t *d1 = NULL;
    for (size_t i = 0; i < json_array_size(details); i++)
        if (!strcmp(json_string_value(json_object_get(json_array_get(details, i), "field")), "case.prefecture"))
            d1 = json_array_get(details, i);
    assert_non_null(d1);
    assert_string_equal(json_string_value(json_object_get(d1, "field")), "case.prefecture");
    assert_string_equal(json_string_value(json_object_get(d1, "suggestion")), "17");
    assert_non_null(json_string_value(json_object_get(d1, "message_ja")));
    assert_true(json_is_null(json_object_get(json_array_get(details, 0), "suggestion")));
    json_decref(details);
    rk_problems_free(&all);
    json_decref(j);

    /* small taxonomies list their values in the message */
    j = J("{'kind':'event','event':{'title':'t','event_type':'seminar','starts_at':'2030-01-01T10:00:00+09:00',"
          "'ends_at':'2030-01-01T12:00:00+09:00','format':'zoom','prefecture':'13'}}");
    rk_problems_init(&all);
    assert_int_equal(rk_record_from_json_all(j, &r, &all, NULL), -1);
    assert_int_equal(all.n, 1);
    assert_non_null(strstr(all.items[0].message, "online (オンライン), onsite (会場), hybrid (ハイブリッド)"));
    rk_problems_free(&all);
    json_decref(j);
}

/* A body of many bad keys lists the first RK_PROBLEMS_MAX problems, and each costs a bounded look-up
 * (the list used to be searched whole for every new problem, quadratic in the body's size). */
static void test_problem_list_is_bounded(void **state)
{
    (void)state;
    json_t *body = json_object();
    assert_non_null(body);
    for (int i = 0; i < 20000; i++) {
        char key[32];
        snprintf(key, sizeof key, "bogus%d", i);
        assert_int_equal(json_object_set_new(body, key, json_integer(i)), 0);
    }
    json_t *j = json_pack("{s:s, s:o}", "kind", "case", "case", body);
    assert_non_null(j);
    rk_problems all;
    rk_problems_init(&all);
    Renkei__Record *r;
    assert_int_equal(rk_record_from_json_all(j, &r, &all, NULL), -1);
    assert_int_equal(all.n, RK_PROBLEMS_MAX);
    assert_string_equal(all.items[0].code, "unknown_field");
    rk_problems_free(&all);
    json_decref(j);
}

static void test_code_lists(void **state)
{
    (void)state;
    json_t *all = rk_codes_to_json(NULL);
    assert_non_null(all);
    size_t n;
    rk_taxonomy_list(&n);
    assert_int_equal(json_object_size(all), n);
    json_t *pref = json_object_get(all, "prefecture");
    assert_int_equal(json_array_size(pref), 47);
    assert_string_equal(json_string_value(json_object_get(json_array_get(pref, 16), "label_ja")), "石川県");
    assert_string_equal(json_string_value(json_object_get(json_array_get(pref, 16), "label_en")), "Ishikawa");
    json_decref(all);
    json_t *one = rk_codes_to_json(rk_taxonomy_find("industries"));
    assert_int_equal(json_object_size(one), 1);
    json_t *ind = json_object_get(one, "industry");
    assert_int_equal(json_array_size(ind), 20);
    assert_string_equal(json_string_value(json_object_get(json_array_get(ind, 4), "code")), "manufacturing");
    assert_string_equal(json_string_value(json_object_get(json_array_get(ind, 4), "label_ja")), "製造業");
    assert_string_equal(json_string_value(json_object_get(json_array_get(ind, 4), "label_en")), "Manufacturing");
    json_decref(one);
}

static void test_invalid_utf8_in_built_json(void **state)
{
    (void)state;
    /* Parsed JSON is always valid UTF-8, but JSON built in code need not be. */
    json_t *j = J("{'kind':'case','case':{" MIN_CASE "}}");
    json_object_set_new(json_object_get(j, "case"), "summary", json_stringn_nocheck("ok\xff", 3));
    Renkei__Record *r = NULL;
    rk_error err;
    assert_int_equal(rk_record_from_json(j, &r, &err), -1);
    assert_string_equal(err.code, "invalid_utf8");
    assert_string_equal(err.field, "case.summary");
    json_decref(j);
}

static void test_generic_message(void **state)
{
    (void)state;
    ProtobufCMessage *m = NULL;
    rk_error err;
    json_t *j = J("{'metric':1}");
    assert_int_equal(rk_message_from_json(j, &renkei__metric__descriptor, "results[0]", &m, &err), -1);
    assert_string_equal(err.code, "wrong_type");
    assert_string_equal(err.field, "results[0].metric");
    assert_null(m);
    json_decref(j);

    j = J("{'record':'00ff10','signature':''}");
    assert_int_equal(rk_message_from_json(j, &renkei__signed_record__descriptor, "", &m, &err), 0);
    Renkei__SignedRecord *sr = (Renkei__SignedRecord *)m;
    assert_int_equal(sr->record.len, 3);
    assert_int_equal(sr->record.data[1], 0xff);
    assert_int_equal(sr->signature.len, 0);
    assert_message_json(m, "{'record':'00ff10'}");
    protobuf_c_message_free_unpacked(m, NULL);
    json_decref(j);

    j = J("{'record':'0g'}");
    assert_int_equal(rk_message_from_json(j, &renkei__signed_record__descriptor, "", &m, &err), -1);
    assert_string_equal(err.code, "invalid_value");
    assert_string_equal(err.field, "record");
    json_decref(j);
}

/* Gives a message from rk_record_from_json the node as its author, as the API does. */
static void own_author(Renkei__Record *r, const rk_key *key)
{
    free(r->author.data);
    r->author.data = malloc(RK_KEY_LEN);
    assert_non_null(r->author.data);
    rk_key_public(key, r->author.data);
    r->author.len = RK_KEY_LEN;
}

/* The publish path's seal keeps the message it packed (no decode of its own bytes) and what it
 * keeps is exactly what a peer decodes from the envelope. */
static void test_seal_owned_keeps_the_message(void **state)
{
    (void)state;
    rk_error err;
    rk_key *key, *other;
    assert_int_equal(rk_key_generate(&key, &err), 0);
    assert_int_equal(rk_key_generate(&other, &err), 0);

    Renkei__Record *r = from_json_ok(full_case);
    own_author(r, key);
    r->version = UINT64_C(1700000000000);
    r->created_at = r->version;
    rk_record rec;
    assert_int_equal(rk_record_seal_owned(r, key, &rec, &err), 0);
    assert_ptr_equal(rec.msg, r);
    assert_true(rk_record_signature_ok(&rec));
    rk_record back;
    assert_int_equal(rk_record_parse(rec.env, rec.env_len, NULL, 0, &back, &err), 0);
    assert_memory_equal(back.hash, rec.hash, RK_HASH_LEN);
    assert_int_equal(back.len, rec.len);
    assert_memory_equal(back.bytes, rec.bytes, rec.len);
    json_t *kept = rk_record_to_json(&rec, NULL), *decoded = rk_record_to_json(&back, NULL);
    assert_json_equal(kept, decoded);
    json_decref(kept);
    json_decref(decoded);
    FX_FREE_RECORDS(&back, &rec);

    /* the fields the node fills in are still checked; the message is freed either way (ASan) */
    r = from_json_ok("{'kind':'case','case':{" MIN_CASE "}}");
    own_author(r, key);
    r->version = 1;
    assert_int_equal(rk_record_seal_owned(r, key, &rec, &err), -1);
    assert_string_equal(err.code, "invalid_rid");
    assert_null(rec.msg);
    r = from_json_ok("{'kind':'case','rid':'x','case':{" MIN_CASE "}}");
    own_author(r, key);
    assert_int_equal(rk_record_seal_owned(r, key, &rec, &err), -1);
    assert_string_equal(err.code, "invalid_version");
    r = from_json_ok("{'kind':'case','rid':'x','case':{" MIN_CASE "}}");
    own_author(r, other);
    r->version = 1;
    assert_int_equal(rk_record_seal_owned(r, key, &rec, &err), -1);
    assert_string_equal(err.code, "invalid_author");
    rk_key_free(key);
    rk_key_free(other);
}

int main(void)
{
    return RK_RUN_TESTS(NULL, NULL, cmocka_unit_test(test_full_case_round_trip),
                        cmocka_unit_test(test_seal_owned_keeps_the_message),
                        cmocka_unit_test(test_full_event_round_trip), cmocka_unit_test(test_defaults_and_aliases),
                        cmocka_unit_test(test_enum_codes), cmocka_unit_test(test_sealed_record_view),
                        cmocka_unit_test(test_tombstone), cmocka_unit_test(test_errors_name_code_and_path),
                        cmocka_unit_test(test_input_aliases), cmocka_unit_test(test_all_problems_at_once),
                        cmocka_unit_test(test_problem_list_is_bounded), cmocka_unit_test(test_code_lists),
                        cmocka_unit_test(test_invalid_utf8_in_built_json), cmocka_unit_test(test_generic_message));
}
