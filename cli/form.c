/* form: the kinds of record a coordinator writes with the command line (see rk_record_form in
 * cli.h), and what their fields are called. The required fields are the node's rules for each kind's
 * body (lib/validate.c), listed here so the template can mark them and --ask can insist on them before
 * the node is asked; the questions are the main fields --ask goes through, in the order a coordinator
 * thinks of them. The template and --ask explain a field from the same table, so a field is described
 * once however many kinds have it.
 */
#include <string.h>

#include "cli.h"

static const char *const required_case[] = {"title", "summary", "prefecture", "industry", "dx_level", NULL};
static const char *const required_event[] = {"title",  "event_type", "starts_at", "ends_at",
                                             "format", "prefecture", NULL};
static const char *const required_region[] = {"name", "node_kind", NULL};

static const char *const asked_case[] = {"title",      "summary",   "prefecture", "industry", "dx_level", "skills",
                                         "place_name", "challenge", "initiative", "tags",     NULL};
static const char *const asked_event[] = {"title",   "event_type", "starts_at",       "ends_at", "format", "prefecture",
                                          "summary", "organiser",  "application_url", "tags",    NULL};
static const char *const asked_region[] = {"name",           "node_kind", "prefecture", "summary",
                                           "key_industries", "website",   NULL};

static const rk_record_form forms[] = {
    {"case", &renkei__case__descriptor, required_case, asked_case, "事例"},
    {"event", &renkei__event__descriptor, required_event, asked_event, "イベント・講座"},
    {"region", &renkei__region_profile__descriptor, required_region, asked_region, "地域プロファイル"},
};

const rk_record_form *rk_record_form_of(const char *kind)
{
    for (size_t i = 0; kind && i < sizeof forms / sizeof forms[0]; i++)
        if (strcmp(forms[i].kind, kind) == 0)
            return &forms[i];
    return NULL;
}

bool rk_record_form_requires(const rk_record_form *form, const char *field)
{
    for (const char *const *f = form->required; *f; f++)
        if (strcmp(*f, field) == 0)
            return true;
    return false;
}

/* What each body field is to a coordinator, for the fields whose name does not say it: the template's
 * explanation, and for the fields --ask asks without a taxonomy's title, its shorter question (in
 * Japanese the explanation itself where that is short enough). One row a field, whichever kind has it. */
static const rk_field_help field_help[] = {
    {"title", "題名", NULL, "title"},
    {"summary", "概要", NULL, "summary"},
    {"name", "名前", NULL, "name"},
    {"case_kind", "事例の種類", NULL, NULL},
    {"organisation", "組織（名前は省略可。匿名の事例は anonymised を true に）", NULL, NULL},
    {"anonymised", "匿名で共有するなら true", NULL, NULL},
    {"employees", "従業員数", NULL, NULL},
    {"municipality", "市区町村コード（JIS X 0402、5桁か6桁。例: 17206）", NULL, NULL},
    {"place_name", "地名（例: 加賀市）", NULL, "place name"},
    {"challenge", "課題", NULL, "challenge"},
    {"initiative", "取組", NULL, "initiative"},
    {"technologies", "使った技術（文字列の配列）", NULL, NULL},
    {"results",
     "成果: [{\"metric\": \"売上\", \"value\": 2, \"unit\": \"倍\", \"baseline\": 1, \"period\": \"3か月\"}]", NULL,
     NULL},
    {"lessons", "教訓", NULL, NULL},
    {"failures", "うまくいかなかったこと", NULL, NULL},
    {"period", "期間: start / end は YYYY-MM-DD か YYYY-MM、fiscal_year は年度（例: 2022）", NULL, NULL},
    {"spread", "横展開: status と adopted_by（採用した地域の名前かコード）", NULL, NULL},
    {"sources", "出典: [{\"title\": \"…\", \"url\": \"https://…\"}]", NULL, NULL},
    {"contact", "連絡先", NULL, NULL},
    {"tags", "タグ（文字列の配列）", "タグ（; で区切る）", "tags (separated by ;)"},
    {"support_organisations", "支援機関（文字列の配列）", NULL, NULL},
    {"funding", "使った補助金・助成金（文字列の配列）", NULL, NULL},
    {"organiser", "主催", NULL, "organiser"},
    {"co_organisers", "共催（文字列の配列）", NULL, NULL},
    {"regions", "参加する都道府県（コードか名前の配列）", NULL, NULL},
    {"starts_at", "開始日時（RFC 3339、時差つき。例: 2025-09-10T13:00:00+09:00）",
     "開始日時（例: 2025-09-10T13:00:00+09:00）", "start (e.g. 2025-09-10T13:00:00+09:00)"},
    {"ends_at", "終了日時（開始より後。例: 2025-09-10T16:30:00+09:00）", "終了日時（例: 2025-09-10T16:30:00+09:00）",
     "end (e.g. 2025-09-10T16:30:00+09:00)"},
    {"time_zone", "タイムゾーン（空なら Asia/Tokyo）", NULL, NULL},
    {"online_platform", "オンラインの場（例: Zoom）", NULL, NULL},
    {"venue", "会場: name, address, prefecture", NULL, NULL},
    {"capacity", "定員", NULL, NULL},
    {"fee_yen", "参加費（円、0 は無料）", NULL, NULL},
    {"application_url", "申込 URL（http:// か https://）", "申込 URL", "application URL"},
    {"application_deadline", "申込締切（YYYY-MM-DD か RFC 3339）", NULL, NULL},
    {"subsidy_eligible", "補助対象なら true", NULL, NULL},
    {"agenda", "プログラム: [{\"starts_at\": \"13:00\", \"ends_at\": \"14:00\", \"title\": \"…\", \"speaker\": \"…\"}]",
     NULL, NULL},
    {"speakers", "登壇者: [{\"name\": \"…\", \"affiliation\": \"…\"}]", NULL, NULL},
    {"coordinating_organisation", "推進組織", NULL, NULL},
    {"key_industries", "主な産業（業種コードの配列）", NULL, NULL},
    {"issues", "地域の課題（例: 少子高齢化, 若者の流出）", NULL, NULL},
    {"attractions", "地域の魅力（例: 産業, 特産品, 観光資源）", NULL, NULL},
    {"website", "ウェブサイト（http:// か https://）", "ウェブサイト", "website"},
    {"prefecture", "都道府県: コード 01〜47 か名前（例: 17 または 石川県。一覧: renkei codes prefecture）",
     "都道府県（名前かコード 01〜47）", "prefecture (name or code 01..47)"},
};

const rk_field_help *rk_field_help_of(const char *field)
{
    for (size_t i = 0; i < sizeof field_help / sizeof field_help[0]; i++)
        if (strcmp(field_help[i].field, field) == 0)
            return &field_help[i];
    return NULL;
}
