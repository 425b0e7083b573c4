/* taxonomy: codes and Japanese labels for the domain's taxonomies.
 *
 * Codes are computed once per enum descriptor and kept for the life of the process in a list that
 * only grows: readers walk it without a lock (entries are complete before they are published with a
 * release store), writers serialise on a mutex. This is the module's only shared state; it exists so
 * rk_taxonomy_code can hand out stable strings without a generated table that could drift from the
 * proto. Label tables are indexed by enum value and must follow the value order in renkei.proto.
 *
 * Input is forgiving, output is canonical: rk_taxonomy_value also accepts a code in any case or width,
 * with spaces or hyphens for underscores, and the Japanese label, all compared in rk_text_normalize's
 * normal form, so "AI", "ａｉ" and "製造業" all parse; what is stored is always the value, and what is
 * shown is always the code. Suggestions for a near miss are the nearest code or label by edit distance
 * over code points, offered only when the distance is small for the input's length.
 */
#include "taxonomy.h"
#include "text.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

static const char *const prefecture_names[47] = {
    "北海道", "青森県", "岩手県", "宮城県",   "秋田県", "山形県",   "福島県", "茨城県", "栃木県", "群馬県",
    "埼玉県", "千葉県", "東京都", "神奈川県", "新潟県", "富山県",   "石川県", "福井県", "山梨県", "長野県",
    "岐阜県", "静岡県", "愛知県", "三重県",   "滋賀県", "京都府",   "大阪府", "兵庫県", "奈良県", "和歌山県",
    "鳥取県", "島根県", "岡山県", "広島県",   "山口県", "徳島県",   "香川県", "愛媛県", "高知県", "福岡県",
    "佐賀県", "長崎県", "熊本県", "大分県",   "宮崎県", "鹿児島県", "沖縄県",
};
static const char *const prefecture_codes[47] = {
    "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12", "13", "14", "15", "16",
    "17", "18", "19", "20", "21", "22", "23", "24", "25", "26", "27", "28", "29", "30", "31", "32",
    "33", "34", "35", "36", "37", "38", "39", "40", "41", "42", "43", "44", "45", "46", "47",
};

/* 1..47 for a valid two-digit code, 0 otherwise. */
static int prefecture_number(const char *code)
{
    if (!code || code[0] < '0' || code[0] > '9' || code[1] < '0' || code[1] > '9' || code[2] != '\0')
        return 0;
    int n = (code[0] - '0') * 10 + (code[1] - '0');
    return n >= 1 && n <= 47 ? n : 0;
}

bool rk_prefecture_valid(const char *code)
{
    return prefecture_number(code) != 0;
}

const char *rk_prefecture_name(const char *code)
{
    int n = prefecture_number(code);
    return n ? prefecture_names[n - 1] : NULL;
}

const char *rk_prefecture_code(int n)
{
    return n >= 1 && n <= 47 ? prefecture_codes[n - 1] : NULL;
}

/* The name without its 都/府/県 suffix (北海道 keeps its 道: "北海" is no one's name for it). */
static size_t prefecture_stem_len(const char *name)
{
    size_t len = strlen(name);
    static const char *const suffixes[] = {"都", "府", "県"};
    for (size_t i = 0; i < 3; i++) {
        size_t sl = strlen(suffixes[i]);
        if (len > sl && strcmp(name + len - sl, suffixes[i]) == 0)
            return len - sl;
    }
    return len;
}

const char *rk_prefecture_parse(const char *s)
{
    if (!s)
        return NULL;
    if (prefecture_number(s))
        return prefecture_codes[prefecture_number(s) - 1];
    char *n = rk_text_normalize(s, strlen(s));
    if (!n)
        return NULL;
    /* NFKC turns full-width digits into ASCII ones; "7" is accepted for "07". */
    const char *found = NULL;
    size_t nl = strlen(n);
    if ((nl == 1 || nl == 2) && n[0] >= '0' && n[0] <= '9' && (nl == 1 || (n[1] >= '0' && n[1] <= '9'))) {
        int v = nl == 1 ? n[0] - '0' : (n[0] - '0') * 10 + (n[1] - '0');
        found = rk_prefecture_code(v);
    }
    for (int i = 0; !found && i < 47; i++) {
        const char *name = prefecture_names[i];
        size_t stem = prefecture_stem_len(name);
        /* Stems are unique among the 47 (京都 is only 京都府, 東京 only 東京都), so a stem is unambiguous. */
        if (strcmp(n, name) == 0 || (nl == stem && strncmp(n, name, stem) == 0))
            found = prefecture_codes[i];
    }
    free(n);
    return found;
}

/* ---------------------------------------------------------------------------- edit distance */

/* Decodes valid UTF-8 into code points; returns the count, or -1 when it does not fit or is invalid. */
static int code_points(const char *s, int32_t *out, int cap)
{
    const uint8_t *p = (const uint8_t *)s;
    utf8proc_ssize_t len = (utf8proc_ssize_t)strlen(s);
    int n = 0;
    for (utf8proc_ssize_t i = 0; i < len;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate(p + i, len - i, &cp);
        if (k <= 0 || n >= cap)
            return -1;
        out[n++] = cp;
        i += k;
    }
    return n;
}

#define MAX_CP 96

int rk_edit_distance(const char *a, const char *b)
{
    int32_t ca[MAX_CP], cb[MAX_CP];
    int na = code_points(a, ca, MAX_CP), nb = code_points(b, cb, MAX_CP);
    if (na < 0 || nb < 0)
        return -1;
    /* Two rows of the Levenshtein matrix: insertions, deletions and substitutions cost 1. */
    int prev[MAX_CP + 1], cur[MAX_CP + 1];
    for (int j = 0; j <= nb; j++)
        prev[j] = j;
    for (int i = 1; i <= na; i++) {
        cur[0] = i;
        for (int j = 1; j <= nb; j++) {
            int sub = prev[j - 1] + (ca[i - 1] != cb[j - 1]);
            int del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, sizeof(int) * (size_t)(nb + 1));
    }
    return prev[nb];
}

/* A near miss is within a third of the input's length in code points (at least one edit, at most
 * three), so "manufactring" finds manufacturing but "x" does not find every one-letter code. */
static int near_limit(const char *input)
{
    int32_t tmp[MAX_CP];
    int n = code_points(input, tmp, MAX_CP);
    if (n <= 0)
        return -1;
    int lim = n / 3;
    return lim < 1 ? 1 : lim > 3 ? 3 : lim;
}

const char *rk_prefecture_suggest(const char *s)
{
    char *n = s ? rk_text_normalize(s, strlen(s)) : NULL;
    if (!n)
        return NULL;
    int lim = near_limit(n), best = -1;
    const char *found = NULL;
    for (int i = 0; i < 47 && lim > 0; i++) {
        char stem[32];
        size_t sl = prefecture_stem_len(prefecture_names[i]);
        memcpy(stem, prefecture_names[i], sl);
        stem[sl] = '\0';
        int d = rk_edit_distance(n, prefecture_names[i]), ds = rk_edit_distance(n, stem);
        if (ds >= 0 && (d < 0 || ds < d))
            d = ds;
        if (d >= 0 && d <= lim && (best < 0 || d < best)) {
            best = d;
            found = prefecture_codes[i];
        }
    }
    free(n);
    return found;
}

/* ---------------------------------------------------------------------------- labels */

static const char *const kind_ja[] = {NULL,   "事例",         "イベント",     "地域プロファイル",
                                      "削除", "メンバー推薦", "鍵の切り替え", "鍵の失効"};
static const char *const visibility_ja[] = {NULL, "公開", "ネットワーク内", "ローカル"};
static const char *const node_kind_ja[] = {NULL, "地域", "テーマ", "連携組織", "全国"};
static const char *const case_kind_ja[] = {NULL, "企業の事例", "支援施策", "自治体庁内の取組"};
static const char *const industry_ja[] = {
    NULL,
    "農業・林業",
    "漁業",
    "鉱業",
    "建設業",
    "製造業",
    "電気・ガス・熱供給・水道業",
    "情報通信業",
    "運輸業・郵便業",
    "卸売業・小売業",
    "金融業・保険業",
    "不動産業・物品賃貸業",
    "学術研究・専門・技術サービス業",
    "宿泊業・飲食サービス業",
    "生活関連サービス業・娯楽業",
    "教育・学習支援業",
    "医療・福祉",
    "複合サービス事業",
    "サービス業（他に分類されないもの）",
    "公務",
    "分類不能の産業",
};
static const char *const dx_level_ja[] = {
    NULL,
    "業務効率化・生産性向上",
    "既存製品・サービスの高付加価値化",
    "新製品・サービスの創出",
    "ビジネスモデルの根本的な変革",
    "企業文化・組織マインドの変革",
};
static const char *const digital_stage_ja[] = {NULL, "未着手", "デジタイゼーション", "デジタライゼーション", "DX"};
static const char *const process_step_ja[] = {NULL, "意思決定", "全体構想・意識改革", "本格推進", "DX拡大・実現"};
static const char *const reskilling_type_ja[] = {NULL, "使いこなし", "企画・推進", "仕事転換"};
static const char *const dx_role_ja[] = {NULL,
                                         "ビジネスアーキテクト",
                                         "デザイナー",
                                         "データサイエンティスト",
                                         "ソフトウェアエンジニア",
                                         "サイバーセキュリティ人材"};
static const char *const audience_ja[] = {
    NULL,         "経営者",           "幹部",
    "人事",       "管理職",           "現場リーダー",
    "一般社員",   "推進人材",         "経営指導員・診断士",
    "自治体職員", "求職者",           "市民",
    "学生",       "高度デジタル人材",
};
static const char *const org_type_ja[] = {
    NULL,       "国",   "都道府県", "市区町村",    "商工会議所・商工会",
    "業界団体", "大学", "金融機関", "ITベンダー",  "コンサルタント",
    "研修機関", "企業", "NPO",      "IoT推進ラボ",
};
static const char *const size_band_ja[] = {NULL, "20人以下", "21〜100人", "101〜300人", "300人超"};
static const char *const support_type_ja[] = {
    NULL,
    "相談",
    "マッチング",
    "デモ・展示",
    "セミナー",
    "ワークショップ",
    "階層別研修",
    "ハッカソン",
    "eラーニング",
    "補助金・助成金",
    "宣言・認定・表彰",
    "専門家派遣",
    "訪問支援",
    "ポータルサイト",
    "コンソーシアム・協議会",
    "共同調達",
};
static const char *const event_type_ja[] = {
    NULL,         "セミナー",           "ワークショップ", "講座",   "ミートアップ", "情報交換会",       "現地視察",
    "ハッカソン", "マッチングイベント", "相談会",         "報告会", "検討会",       "キックオフ・宣言", "ウェビナー",
    "懇親会",
};
static const char *const skill_ja[] = {
    NULL,
    "ITリテラシー",
    "ITパスポート",
    "プログラミング",
    "AI",
    "システム開発",
    "IoT",
    "データ分析",
    "デジタルマーケティング",
    "EC",
    "ロボティクス",
    "サイバーセキュリティ",
    "クラウド",
    "プロジェクトマネジメント",
    "新規事業企画",
};
static const char *const event_format_ja[] = {NULL, "オンライン", "会場", "ハイブリッド"};
static const char *const open_scope_ja[] = {NULL, "地域内限定", "全国から参加可"};
static const char *const event_status_ja[] = {NULL, "計画中", "開催決定", "変更あり", "満席", "中止", "終了"};
static const char *const date_precision_ja[] = {NULL, "日時", "日", "月", "年度"};
static const char *const recurrence_ja[] = {NULL, "なし", "毎週", "毎月", "四半期ごと", "半年ごと", "毎年"};
static const char *const dx_level_fit_ja[] = {NULL, "初級（意識づけ）", "中級", "上級"};
static const char *const spread_status_ja[] = {NULL, "試行", "評価済み", "他地域で採用"};

static const rk_label_table label_tables[] = {
    RK_LABELS(renkei__kind__descriptor, kind_ja),
    RK_LABELS(renkei__visibility__descriptor, visibility_ja),
    RK_LABELS(renkei__node_kind__descriptor, node_kind_ja),
    RK_LABELS(renkei__case_kind__descriptor, case_kind_ja),
    RK_LABELS(renkei__industry__descriptor, industry_ja),
    RK_LABELS(renkei__dx_level__descriptor, dx_level_ja),
    RK_LABELS(renkei__digital_stage__descriptor, digital_stage_ja),
    RK_LABELS(renkei__dx_process_step__descriptor, process_step_ja),
    RK_LABELS(renkei__reskilling_type__descriptor, reskilling_type_ja),
    RK_LABELS(renkei__dx_role__descriptor, dx_role_ja),
    RK_LABELS(renkei__audience__descriptor, audience_ja),
    RK_LABELS(renkei__org_type__descriptor, org_type_ja),
    RK_LABELS(renkei__size_band__descriptor, size_band_ja),
    RK_LABELS(renkei__support_type__descriptor, support_type_ja),
    RK_LABELS(renkei__event_type__descriptor, event_type_ja),
    RK_LABELS(renkei__skill__descriptor, skill_ja),
    RK_LABELS(renkei__event_format__descriptor, event_format_ja),
    RK_LABELS(renkei__open_scope__descriptor, open_scope_ja),
    RK_LABELS(renkei__event_status__descriptor, event_status_ja),
    RK_LABELS(renkei__date_precision__descriptor, date_precision_ja),
    RK_LABELS(renkei__recurrence__descriptor, recurrence_ja),
    RK_LABELS(renkei__dx_level_fit__descriptor, dx_level_fit_ja),
    RK_LABELS(renkei__spread_status__descriptor, spread_status_ja),
};

const char *rk_label_lookup(const rk_label_table *tables, size_t n_tables, const ProtobufCEnumDescriptor *d, int value)
{
    for (size_t i = 0; i < n_tables; i++)
        if (tables[i].desc == d && value > 0 && (size_t)value < tables[i].n)
            return tables[i].labels[value];
    return NULL;
}

/* The Japanese label of a value, NULL when it has none. */
static const char *label_of(const ProtobufCEnumDescriptor *d, int value)
{
    return rk_label_lookup(label_tables, sizeof label_tables / sizeof label_tables[0], d, value);
}

const char *rk_label_ja(const ProtobufCEnumDescriptor *d, int value)
{
    const char *l = label_of(d, value);
    return l ? l : rk_taxonomy_code(d, value);
}

/* ---------------------------------------------------------------------------- taxonomies by name */

static const rk_taxonomy taxonomies[] = {
    {"kind", "kind", "レコードの種類", "record kind", &renkei__kind__descriptor},
    {"visibility", "visibility", "公開範囲", "visibility", &renkei__visibility__descriptor},
    {"prefecture", "prefectures", "都道府県（JIS X 0401）", "prefecture (JIS X 0401)", NULL},
    {"industry", "industries", "業種（日本標準産業分類の大分類）", "industry (JSIC division)",
     &renkei__industry__descriptor},
    {"dx_level", "dx_levels", "DXの段階（IPA）", "DX level (IPA)", &renkei__dx_level__descriptor},
    {"skills", "skill", "スキル分野", "skill category", &renkei__skill__descriptor},
    {"audience", "audiences", "対象層（target_layers, audience）", "audience / target layer",
     &renkei__audience__descriptor},
    {"case_kind", "case_kinds", "事例の種類", "case kind", &renkei__case_kind__descriptor},
    {"digital_stage", "digital_stages", "デジタル化の段階", "digital stage", &renkei__digital_stage__descriptor},
    {"process_step", "process_steps", "DX推進の段階", "DX process step", &renkei__dx_process_step__descriptor},
    {"reskilling_type", "reskilling_types", "リスキリングの型", "reskilling type",
     &renkei__reskilling_type__descriptor},
    {"dx_roles", "dx_role", "DX推進人材の類型（DX推進スキル標準）", "DX role", &renkei__dx_role__descriptor},
    {"org_type", "org_types", "組織の種類", "organisation type", &renkei__org_type__descriptor},
    {"size_band", "size_bands", "企業規模", "size band", &renkei__size_band__descriptor},
    {"support_types", "support_type", "支援の種類", "support type", &renkei__support_type__descriptor},
    {"spread_status", "spread", "横展開の状況", "spread status", &renkei__spread_status__descriptor},
    {"event_type", "event_types", "イベントの種類", "event type", &renkei__event_type__descriptor},
    {"format", "formats", "開催形式", "event format", &renkei__event_format__descriptor},
    {"open_scope", "open_scopes", "参加できる範囲", "open scope", &renkei__open_scope__descriptor},
    {"status", "event_status", "イベントの状態", "event status", &renkei__event_status__descriptor},
    {"date_precision", "date_precisions", "日付の精度", "date precision", &renkei__date_precision__descriptor},
    {"recurrence", "recurrences", "繰り返し", "recurrence", &renkei__recurrence__descriptor},
    {"dx_level_fit", "dx_level_fits", "対象レベル", "DX level fit", &renkei__dx_level_fit__descriptor},
    {"node_kind", "node_kinds", "ノードの種類", "node kind", &renkei__node_kind__descriptor},
};

const rk_taxonomy *rk_taxonomy_list(size_t *n)
{
    *n = sizeof taxonomies / sizeof taxonomies[0];
    return taxonomies;
}

const rk_taxonomy *rk_taxonomy_find(const char *name)
{
    for (size_t i = 0; name && i < sizeof taxonomies / sizeof taxonomies[0]; i++)
        if (strcmp(name, taxonomies[i].name) == 0 || strcmp(name, taxonomies[i].alias) == 0)
            return &taxonomies[i];
    return NULL;
}

const rk_taxonomy *rk_taxonomy_of(const ProtobufCEnumDescriptor *d)
{
    for (size_t i = 0; d && i < sizeof taxonomies / sizeof taxonomies[0]; i++)
        if (taxonomies[i].desc == d)
            return &taxonomies[i];
    return NULL;
}

/* ---------------------------------------------------------------------------- enum codes */

typedef struct code_table {
    const ProtobufCEnumDescriptor *desc;
    char **codes;  /* parallel to desc->values; NULL for the zero value */
    char **labels; /* the labels in normal form (see normal_key), parallel too; NULL when unlabelled */
    struct code_table *next;
} code_table;

static _Atomic(code_table *) code_tables;
static pthread_mutex_t code_tables_lock = PTHREAD_MUTEX_INITIALIZER;

static bool is_upper(char c)
{
    return c >= 'A' && c <= 'Z';
}
static bool is_lower_or_digit(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
static char to_lower(char c)
{
    return is_upper(c) ? (char)(c - 'A' + 'a') : c;
}
static char to_upper(char c)
{
    return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

/* "DxLevelFit" -> "DX_LEVEL_FIT_"; returns the length, or 0 if it does not fit. */
static size_t enum_prefix(const char *short_name, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; short_name[i]; i++) {
        if (i > 0 && is_upper(short_name[i]) && is_lower_or_digit(short_name[i - 1])) {
            if (n + 1 >= cap)
                return 0;
            out[n++] = '_';
        }
        if (n + 1 >= cap)
            return 0;
        out[n++] = to_upper(short_name[i]);
    }
    if (n + 2 > cap)
        return 0;
    out[n++] = '_';
    out[n] = '\0';
    return n;
}

/* The comparison key of typed input: NFKC, case-folded, surrounding spaces dropped, and inner spaces
 * and hyphens read as the underscores of codes ("Value-Add" -> "value_add"). malloc'd; NULL if the
 * input is not UTF-8 or memory ran out. */
static char *normal_key(const char *s)
{
    char *n = rk_text_normalize(s, strlen(s));
    if (!n)
        return NULL;
    size_t start = strspn(n, " \t"), len = strlen(n + start);
    memmove(n, n + start, len + 1);
    while (len && (n[len - 1] == ' ' || n[len - 1] == '\t'))
        n[--len] = '\0';
    for (char *p = n; *p; p++)
        if (*p == ' ' || *p == '-')
            *p = '_';
    return n;
}

static void free_table(code_table *t)
{
    if (!t)
        return;
    for (unsigned i = 0; i < t->desc->n_values; i++) {
        if (t->codes)
            free(t->codes[i]);
        if (t->labels)
            free(t->labels[i]);
    }
    free(t->codes);
    free(t->labels);
    free(t);
}

static code_table *build_table(const ProtobufCEnumDescriptor *d)
{
    char prefix[128];
    size_t plen = enum_prefix(d->short_name, prefix, sizeof prefix);
    code_table *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->desc = d;
    t->codes = calloc(d->n_values ? d->n_values : 1, sizeof *t->codes);
    t->labels = calloc(d->n_values ? d->n_values : 1, sizeof *t->labels);
    if (!t->codes || !t->labels) {
        free_table(t);
        return NULL;
    }
    for (unsigned i = 0; i < d->n_values; i++) {
        if (d->values[i].value == 0)
            continue;
        const char *name = d->values[i].name;
        /* A value that breaks the naming rule keeps its whole name rather than losing it. */
        if (plen && strncmp(name, prefix, plen) == 0 && name[plen])
            name += plen;
        size_t len = strlen(name);
        char *code = malloc(len + 1);
        if (!code) {
            free_table(t);
            return NULL;
        }
        for (size_t k = 0; k < len; k++)
            code[k] = to_lower(name[k]);
        code[len] = '\0';
        t->codes[i] = code;
        const char *label = label_of(d, d->values[i].value);
        if (label && !(t->labels[i] = normal_key(label))) {
            free_table(t);
            return NULL;
        }
    }
    return t;
}

static const code_table *find_table(const ProtobufCEnumDescriptor *d)
{
    for (code_table *t = atomic_load_explicit(&code_tables, memory_order_acquire); t; t = t->next)
        if (t->desc == d)
            return t;
    return NULL;
}

static const code_table *table_for(const ProtobufCEnumDescriptor *d)
{
    if (!d)
        return NULL;
    const code_table *found = find_table(d);
    if (found)
        return found;
    if (pthread_mutex_lock(&code_tables_lock) != 0)
        return NULL;
    found = find_table(d); /* another thread may have built it meanwhile */
    if (!found) {
        code_table *t = build_table(d);
        if (t) {
            t->next = atomic_load_explicit(&code_tables, memory_order_relaxed);
            atomic_store_explicit(&code_tables, t, memory_order_release);
            found = t;
        }
    }
    pthread_mutex_unlock(&code_tables_lock);
    return found;
}

const char *rk_taxonomy_code(const ProtobufCEnumDescriptor *d, int value)
{
    if (value == 0)
        return NULL;
    const code_table *t = table_for(d);
    if (!t)
        return NULL;
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(d, value);
    if (!v)
        return NULL;
    return t->codes[v - d->values];
}

int rk_taxonomy_value(const ProtobufCEnumDescriptor *d, const char *code)
{
    if (!code || !code[0])
        return -1;
    if (d == &renkei__industry__descriptor && code[1] == '\0' && code[0] >= 'A' && code[0] <= 'T')
        return code[0] - 'A' + RENKEI__INDUSTRY__INDUSTRY_AGRICULTURE_FORESTRY;
    const code_table *t = table_for(d);
    if (!t)
        return -1;
    /* Exact codes first: that is what machines send, and it needs no allocation. */
    for (unsigned i = 0; i < d->n_values; i++)
        if (t->codes[i] && strcmp(t->codes[i], code) == 0)
            return d->values[i].value;
    char *key = normal_key(code);
    if (!key)
        return -1;
    int found = -1;
    for (unsigned i = 0; i < d->n_values && found < 0; i++)
        if (t->codes[i] && (strcmp(t->codes[i], key) == 0 || (t->labels[i] && strcmp(t->labels[i], key) == 0)))
            found = d->values[i].value;
    free(key);
    return found;
}

int rk_taxonomy_suggest(const ProtobufCEnumDescriptor *d, const char *input)
{
    const code_table *t = table_for(d);
    char *key = input ? normal_key(input) : NULL;
    if (!t || !key) {
        free(key);
        return -1;
    }
    int lim = near_limit(key), best = -1, found = -1;
    for (unsigned i = 0; i < d->n_values && lim > 0; i++) {
        if (!t->codes[i])
            continue;
        int dc = rk_edit_distance(key, t->codes[i]);
        int dl = t->labels[i] ? rk_edit_distance(key, t->labels[i]) : -1;
        int dist = dc < 0 ? dl : (dl < 0 || dc <= dl) ? dc : dl;
        if (dist >= 0 && dist <= lim && (best < 0 || dist < best)) {
            best = dist;
            found = d->values[i].value;
        }
    }
    free(key);
    return found;
}
