/* taxonomy: codes and Japanese labels for the domain's taxonomies.
 *
 * Codes are computed once per enum descriptor and kept for the life of the process in a list that
 * only grows: readers walk it without a lock (entries are complete before they are published with a
 * release store), writers serialise on a mutex. This is the module's only shared state; it exists so
 * rk_taxonomy_code can hand out stable strings without a generated table that could drift from the
 * proto. Label tables are indexed by enum value and must follow the value order in renkei.proto.
 */
#include "taxonomy.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static const char *const prefecture_names[47] = {
    "北海道", "青森県", "岩手県", "宮城県", "秋田県", "山形県", "福島県", "茨城県", "栃木県", "群馬県",
    "埼玉県", "千葉県", "東京都", "神奈川県", "新潟県", "富山県", "石川県", "福井県", "山梨県", "長野県",
    "岐阜県", "静岡県", "愛知県", "三重県", "滋賀県", "京都府", "大阪府", "兵庫県", "奈良県", "和歌山県",
    "鳥取県", "島根県", "岡山県", "広島県", "山口県", "徳島県", "香川県", "愛媛県", "高知県", "福岡県",
    "佐賀県", "長崎県", "熊本県", "大分県", "宮崎県", "鹿児島県", "沖縄県",
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

/* ---------------------------------------------------------------------------- enum codes */

typedef struct code_table {
    const ProtobufCEnumDescriptor *desc;
    char **codes; /* parallel to desc->values; NULL for the zero value */
    struct code_table *next;
} code_table;

static _Atomic(code_table *) code_tables;
static pthread_mutex_t code_tables_lock = PTHREAD_MUTEX_INITIALIZER;

static bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
static bool is_lower_or_digit(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
static char to_lower(char c) { return is_upper(c) ? (char)(c - 'A' + 'a') : c; }
static char to_upper(char c) { return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c; }

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

static void free_table(code_table *t)
{
    if (!t)
        return;
    if (t->codes)
        for (unsigned i = 0; i < t->desc->n_values; i++)
            free(t->codes[i]);
    free(t->codes);
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
    if (!t->codes) {
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
    for (unsigned i = 0; i < d->n_values; i++)
        if (t->codes[i] && strcmp(t->codes[i], code) == 0)
            return d->values[i].value;
    return -1;
}

/* ---------------------------------------------------------------------------- labels */

static const char *const industry_ja[] = {
    NULL, "農業・林業", "漁業", "鉱業", "建設業", "製造業", "電気・ガス・熱供給・水道業", "情報通信業",
    "運輸業・郵便業", "卸売業・小売業", "金融業・保険業", "不動産業・物品賃貸業", "学術研究・専門・技術サービス業",
    "宿泊業・飲食サービス業", "生活関連サービス業・娯楽業", "教育・学習支援業", "医療・福祉", "複合サービス事業",
    "サービス業（他に分類されないもの）", "公務", "分類不能の産業",
};
static const char *const dx_level_ja[] = {
    NULL, "業務効率化・生産性向上", "既存製品・サービスの高付加価値化", "新製品・サービスの創出",
    "ビジネスモデルの根本的な変革", "企業文化・組織マインドの変革",
};
static const char *const skill_ja[] = {
    NULL, "ITリテラシー", "ITパスポート", "プログラミング", "AI", "システム開発", "IoT", "データ分析",
    "デジタルマーケティング", "EC", "ロボティクス", "サイバーセキュリティ", "クラウド", "プロジェクトマネジメント",
    "新規事業企画",
};
static const char *const event_type_ja[] = {
    NULL, "セミナー", "ワークショップ", "講座", "ミートアップ", "情報交換会", "現地視察", "ハッカソン",
    "マッチングイベント", "相談会", "報告会", "検討会", "キックオフ・宣言", "ウェビナー", "懇親会",
};
static const char *const audience_ja[] = {
    NULL, "経営者", "幹部", "人事", "管理職", "現場リーダー", "一般社員", "推進人材", "経営指導員・診断士",
    "自治体職員", "求職者", "市民", "学生", "高度デジタル人材",
};
static const char *const node_kind_ja[] = {NULL, "地域", "テーマ", "連携組織", "全国"};
static const char *const digital_stage_ja[] = {NULL, "未着手", "デジタイゼーション", "デジタライゼーション", "DX"};
static const char *const process_step_ja[] = {NULL, "意思決定", "全体構想・意識改革", "本格推進", "DX拡大・実現"};
static const char *const reskilling_type_ja[] = {NULL, "使いこなし", "企画・推進", "仕事転換"};
static const char *const event_format_ja[] = {NULL, "オンライン", "会場", "ハイブリッド"};
static const char *const visibility_ja[] = {NULL, "公開", "ネットワーク内", "ローカル"};

#define LABELS(desc, table) {&desc, table, sizeof table / sizeof table[0]}
static const struct {
    const ProtobufCEnumDescriptor *desc;
    const char *const *labels;
    size_t n;
} label_tables[] = {
    LABELS(renkei__industry__descriptor, industry_ja),
    LABELS(renkei__dx_level__descriptor, dx_level_ja),
    LABELS(renkei__skill__descriptor, skill_ja),
    LABELS(renkei__event_type__descriptor, event_type_ja),
    LABELS(renkei__audience__descriptor, audience_ja),
    LABELS(renkei__node_kind__descriptor, node_kind_ja),
    LABELS(renkei__digital_stage__descriptor, digital_stage_ja),
    LABELS(renkei__dx_process_step__descriptor, process_step_ja),
    LABELS(renkei__reskilling_type__descriptor, reskilling_type_ja),
    LABELS(renkei__event_format__descriptor, event_format_ja),
    LABELS(renkei__visibility__descriptor, visibility_ja),
};

const char *rk_label_ja(const ProtobufCEnumDescriptor *d, int value)
{
    for (size_t i = 0; i < sizeof label_tables / sizeof label_tables[0]; i++)
        if (label_tables[i].desc == d && value > 0 && (size_t)value < label_tables[i].n)
            return label_tables[i].labels[value];
    return rk_taxonomy_code(d, value);
}
