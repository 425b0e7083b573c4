/* view: human output of the CLI.
 *
 * Columns are aligned by display width (rk_text_width), not bytes or code points, because most text
 * is Japanese and a kanji takes two terminal columns. Prefecture codes are shown with their names and
 * taxonomy codes with their Japanese labels; machines should use --json, which bypasses all of this.
 * The API's JSON shapes for status, stats and peers may grow, so they are printed generically: any
 * object becomes an aligned outline and any list of objects a table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "grow.h"
#include "taxonomy.h"
#include "text.h"

struct rk_table {
    size_t ncols;
    char **headers;
    char **cells; /* rows * ncols */
    size_t rows;
    size_t cap;
};

static char *dup_or_empty(const char *s)
{
    return strdup(s ? s : "");
}

size_t rk_table_rows(const rk_table *t)
{
    return t->rows;
}

rk_table *rk_table_new(size_t ncols, const char *const *headers)
{
    rk_table *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->ncols = ncols;
    t->headers = calloc(ncols ? ncols : 1, sizeof *t->headers);
    if (!t->headers) {
        free(t);
        return NULL;
    }
    for (size_t i = 0; i < ncols; i++) {
        t->headers[i] = dup_or_empty(headers[i]);
        if (!t->headers[i]) {
            rk_table_free(t);
            return NULL;
        }
    }
    return t;
}

int rk_table_add(rk_table *t, const char *const *cells)
{
    char **n = rk_grow(t->cells, &t->cap, t->rows + 1, t->ncols * sizeof *n);
    if (!n)
        return -1;
    t->cells = n;
    char **row = t->cells + t->rows * t->ncols;
    for (size_t i = 0; i < t->ncols; i++) {
        row[i] = dup_or_empty(cells[i]);
        if (!row[i]) {
            for (size_t k = 0; k < i; k++)
                free(row[k]);
            return -1;
        }
    }
    t->rows++;
    return 0;
}

static void put_padded(const char *s, size_t width, bool last)
{
    fputs(s, stdout);
    if (last)
        return;
    for (size_t w = rk_text_width(s); w < width + 2; w++)
        putchar(' ');
}

static void table_print_indent(const rk_table *t, int indent)
{
    size_t *w = calloc(t->ncols ? t->ncols : 1, sizeof *w);
    if (!w) {
        fprintf(stderr, "renkei: out of memory\n");
        return;
    }
    for (size_t c = 0; c < t->ncols; c++)
        w[c] = rk_text_width(t->headers[c]);
    for (size_t r = 0; r < t->rows; r++)
        for (size_t c = 0; c < t->ncols; c++) {
            size_t cw = rk_text_width(t->cells[r * t->ncols + c]);
            if (cw > w[c])
                w[c] = cw;
        }
    bool any_header = false;
    for (size_t c = 0; c < t->ncols; c++)
        any_header |= t->headers[c][0] != '\0';
    if (any_header) {
        printf("%*s", indent, "");
        for (size_t c = 0; c < t->ncols; c++)
            put_padded(t->headers[c], w[c], c + 1 == t->ncols);
        putchar('\n');
    }
    for (size_t r = 0; r < t->rows; r++) {
        printf("%*s", indent, "");
        for (size_t c = 0; c < t->ncols; c++)
            put_padded(t->cells[r * t->ncols + c], w[c], c + 1 == t->ncols);
        putchar('\n');
    }
    free(w);
}

void rk_table_print(const rk_table *t)
{
    table_print_indent(t, 0);
}

void rk_table_free(rk_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->rows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    if (t->headers)
        for (size_t i = 0; i < t->ncols; i++)
            free(t->headers[i]);
    free(t->headers);
    free(t);
}

/* Length in bytes of the UTF-8 sequence starting with c (1 for stray bytes, so progress is made). */
static size_t utf8_len(unsigned char c)
{
    if (c >= 0xf0)
        return 4;
    if (c >= 0xe0)
        return 3;
    if (c >= 0xc0)
        return 2;
    return 1;
}

void rk_fit_width(const char *s, size_t max_cols, char *out, size_t out_size)
{
    if (!out_size)
        return;
    out[0] = '\0';
    if (!s)
        return;
    if (rk_text_width(s) <= max_cols && strlen(s) < out_size) {
        memcpy(out, s, strlen(s) + 1);
        return;
    }
    static const char ellipsis[] = "…"; /* one column, three bytes */
    size_t used = 0, cols = 0;
    for (const char *p = s; *p;) {
        size_t n = utf8_len((unsigned char)*p);
        if (strnlen(p, n) < n)
            break;
        char ch[5];
        memcpy(ch, p, n);
        ch[n] = '\0';
        size_t cw = rk_text_width(ch);
        if (cols + cw + 1 > max_cols || used + n + sizeof ellipsis > out_size)
            break;
        memcpy(out + used, p, n);
        used += n;
        cols += cw;
        p += n;
    }
    memcpy(out + used, ellipsis, sizeof ellipsis);
}

void rk_prefecture_label(const char *code, char *out, size_t out_size)
{
    const char *name = rk_prefecture_name(code);
    if (name)
        snprintf(out, out_size, "%s %s", code, name);
    else
        snprintf(out, out_size, "%s", code ? code : "");
}

void rk_json_scalar(const json_t *v, char *out, size_t out_size)
{
    out[0] = '\0';
    if (json_is_string(v))
        snprintf(out, out_size, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(out, out_size, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(out, out_size, "%g", json_real_value(v));
    else if (json_is_true(v))
        snprintf(out, out_size, "true");
    else if (json_is_false(v))
        snprintf(out, out_size, "false");
    else if (json_is_null(v))
        snprintf(out, out_size, "-");
}

void rk_print_json(const json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    if (!s) {
        fprintf(stderr, "renkei: out of memory\n");
        return;
    }
    puts(s);
    free(s);
}

int rk_print_json_owned(json_t *j)
{
    if (!j) {
        fprintf(stderr, "renkei: out of memory\n");
        return RK_EXIT_FAIL;
    }
    rk_print_json(j);
    json_decref(j);
    return RK_EXIT_OK;
}

/* ---- generic outline ----------------------------------------------------------------------------- */

static bool is_scalar(const json_t *v)
{
    return !json_is_object(v) && !json_is_array(v);
}

/* A key shown to people: prefecture codes get their names. */
static void key_label(const char *key, char *out, size_t out_size)
{
    rk_prefecture_label(key, out, out_size);
}

/* Scalar or array-of-scalars value as one line; prefecture values get their names. */
static void value_text(const char *key, const json_t *v, char *out, size_t out_size)
{
    out[0] = '\0';
    if (json_is_array(v)) {
        size_t i, used = 0;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            char one[512];
            rk_json_scalar(e, one, sizeof one);
            int n = snprintf(out + used, out_size - used, "%s%s", i ? ", " : "", one);
            if (n < 0 || (size_t)n >= out_size - used)
                break;
            used += (size_t)n;
        }
        return;
    }
    char s[1024];
    rk_json_scalar(v, s, sizeof s);
    if (key && strcmp(key, "prefecture") == 0)
        rk_prefecture_label(s, out, out_size);
    else
        snprintf(out, out_size, "%s", s);
}

static bool array_of_scalars(const json_t *a)
{
    size_t i;
    json_t *e;
    json_array_foreach(a, i, e) if (!is_scalar(e)) return false;
    return true;
}

/* Adds name to the column list unless it is there already. */
static int add_column(json_t *cols, const char *name)
{
    size_t i;
    json_t *c;
    json_array_foreach(cols, i, c) if (strcmp(json_string_value(c), name) == 0) return 0;
    return json_array_append_new(cols, json_string(name));
}

/* The columns one row contributes: its members, with nested objects flattened one level ("a.b"). */
static int collect_columns(json_t *cols, const json_t *row)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)row, k, v)
    {
        if (!json_is_object(v)) {
            if (add_column(cols, k) != 0)
                return -1;
            continue;
        }
        const char *k2;
        json_t *v2;
        json_object_foreach(v, k2, v2)
        {
            char name[256];
            snprintf(name, sizeof name, "%s.%s", k, k2);
            if (is_scalar(v2) && add_column(cols, name) != 0)
                return -1;
        }
    }
    return 0;
}

/* The cell of a column ("a" or "a.b") in one row, cut to fit a terminal. */
static void cell_text(const json_t *row, const char *col, char *out, size_t out_size)
{
    const char *dot = strchr(col, '.');
    const json_t *v;
    if (dot) {
        char parent[256];
        snprintf(parent, sizeof parent, "%.*s", (int)(dot - col), col);
        v = json_object_get(json_object_get(row, parent), dot + 1);
    } else {
        v = json_object_get(row, col);
    }
    out[0] = '\0';
    if (!v || json_is_object(v))
        return;
    char full[1024];
    value_text(dot ? dot + 1 : col, v, full, sizeof full);
    rk_fit_width(full, 60, out, out_size);
}

/* One table row: the member name (keyed tables) and the cells of every column. */
static int add_object_row(rk_table *t, const json_t *cols, const char *name, const json_t *row, char **cells)
{
    size_t c = 0;
    if (name)
        key_label(name, cells[c++], 1024);
    for (size_t i = 0; i < json_array_size(cols); i++, c++)
        cell_text(row, json_string_value(json_array_get(cols, i)), cells[c], 1024);
    return rk_table_add(t, (const char *const *)cells);
}

/* A table from a list of objects (array) or an object of objects (first column = member name).
 * Columns: the union of member keys in first-seen order; nested objects are flattened one level. */
static void print_object_table(const json_t *rows, int indent)
{
    bool keyed = json_is_object(rows);
    json_t *cols = json_array();
    const char **headers = NULL;
    char **cells = NULL;
    rk_table *t = NULL;
    size_t ncols = 0;
    const char *name;
    json_t *row;
    size_t idx;
    if (!cols)
        goto oom;
    if (keyed) {
        json_object_foreach((json_t *)rows, name, row)
        {
            if (json_is_object(row) && collect_columns(cols, row) != 0)
                goto oom;
        }
    } else {
        json_array_foreach(rows, idx, row)
        {
            if (json_is_object(row) && collect_columns(cols, row) != 0)
                goto oom;
        }
    }
    ncols = json_array_size(cols) + (keyed ? 1 : 0);
    headers = calloc(ncols ? ncols : 1, sizeof *headers);
    cells = calloc(ncols ? ncols : 1, sizeof *cells);
    if (!headers || !cells)
        goto oom;
    size_t h = 0;
    if (keyed)
        headers[h++] = "";
    for (size_t i = 0; i < json_array_size(cols); i++)
        headers[h++] = json_string_value(json_array_get(cols, i));
    if (!(t = rk_table_new(ncols, headers)))
        goto oom;
    for (size_t i = 0; i < ncols; i++)
        if (!(cells[i] = malloc(1024)))
            goto oom;
    if (keyed) {
        json_object_foreach((json_t *)rows, name, row)
        {
            if (json_is_object(row) && add_object_row(t, cols, name, row, cells) != 0)
                goto oom;
        }
    } else {
        json_array_foreach(rows, idx, row)
        {
            if (json_is_object(row) && add_object_row(t, cols, NULL, row, cells) != 0)
                goto oom;
        }
    }
    table_print_indent(t, indent);
    goto done;
oom:
    fprintf(stderr, "renkei: out of memory\n");
done:
    if (cells)
        for (size_t i = 0; i < ncols; i++)
            free(cells[i]);
    free(cells);
    free(headers);
    rk_table_free(t);
    json_decref(cols);
}

static bool object_of_objects(const json_t *o)
{
    if (!json_object_size(o))
        return false;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v) if (!json_is_object(v)) return false;
    /* Only when the inner objects are flat, or they would lose information in a table. */
    json_object_foreach((json_t *)o, k, v)
    {
        const char *k2;
        json_t *v2;
        json_object_foreach(v, k2, v2) if (json_is_array(v2)) return false;
    }
    return true;
}

static void print_outline(const json_t *o, int indent)
{
    size_t kw = 0;
    const char *k;
    json_t *v;
    char label[256];
    json_object_foreach((json_t *)o, k, v)
    {
        key_label(k, label, sizeof label);
        size_t w = rk_text_width(label);
        if (w > kw)
            kw = w;
    }
    json_object_foreach((json_t *)o, k, v)
    {
        key_label(k, label, sizeof label);
        printf("%*s%s", indent, "", label);
        if (is_scalar(v) || (json_is_array(v) && array_of_scalars(v))) {
            char text[4096];
            value_text(k, v, text, sizeof text);
            for (size_t w = rk_text_width(label); w < kw + 2; w++)
                putchar(' ');
            printf("%s\n", text);
        } else if (json_is_array(v)) {
            printf(":%s\n", json_array_size(v) ? "" : " (none)");
            if (json_array_size(v))
                print_object_table(v, indent + 2);
        } else if (object_of_objects(v)) {
            printf(":\n");
            print_object_table(v, indent + 2);
        } else {
            printf(":%s\n", json_object_size(v) ? "" : " (none)");
            print_outline(v, indent + 2);
        }
    }
}

void rk_print_json_human(const json_t *j)
{
    if (json_is_object(j))
        print_outline(j, 0);
    else if (json_is_array(j) && !array_of_scalars(j))
        print_object_table(j, 0);
    else {
        char text[4096];
        value_text(NULL, j, text, sizeof text);
        printf("%s\n", text);
    }
}

/* ---- records ------------------------------------------------------------------------------------- */

static const json_t *record_body(const json_t *rec)
{
    static const char *const kinds[] = {"case", "event", "region", "tombstone"};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        const json_t *b = json_object_get(rec, kinds[i]);
        if (json_is_object(b))
            return b;
    }
    return NULL;
}

const char *rk_record_title(const json_t *rec)
{
    const json_t *b = record_body(rec);
    const char *t = json_string_value(json_object_get(b, "title"));
    if (!t)
        t = json_string_value(json_object_get(b, "name"));
    if (!t)
        t = json_string_value(json_object_get(b, "reason"));
    return t ? t : "";
}

const char *rk_record_prefecture(const json_t *rec)
{
    const char *p = json_string_value(json_object_get(record_body(rec), "prefecture"));
    return p ? p : "";
}

/* Which taxonomy a body field's codes come from; NULL for free text. `parent` is the enclosing
 * field name ("" at the body's top level), needed because "status" means different things. */
static const ProtobufCEnumDescriptor *field_enum(const char *parent, const char *name)
{
    static const struct {
        const char *parent, *name;
        const ProtobufCEnumDescriptor *d;
    } map[] = {
        {"spread", "status", &renkei__spread_status__descriptor},
        {"organisation", "org_type", &renkei__org_type__descriptor},
        {"organisation", "size_band", &renkei__size_band__descriptor},
        {"", "case_kind", &renkei__case_kind__descriptor},
        {"", "industry", &renkei__industry__descriptor},
        {"", "key_industries", &renkei__industry__descriptor},
        {"", "dx_level", &renkei__dx_level__descriptor},
        {"", "digital_stage", &renkei__digital_stage__descriptor},
        {"", "process_step", &renkei__dx_process_step__descriptor},
        {"", "reskilling_type", &renkei__reskilling_type__descriptor},
        {"", "skills", &renkei__skill__descriptor},
        {"", "target_layers", &renkei__audience__descriptor},
        {"", "audience", &renkei__audience__descriptor},
        {"", "dx_roles", &renkei__dx_role__descriptor},
        {"", "support_types", &renkei__support_type__descriptor},
        {"", "event_type", &renkei__event_type__descriptor},
        {"", "format", &renkei__event_format__descriptor},
        {"", "open_scope", &renkei__open_scope__descriptor},
        {"", "status", &renkei__event_status__descriptor},
        {"", "date_precision", &renkei__date_precision__descriptor},
        {"", "recurrence", &renkei__recurrence__descriptor},
        {"", "dx_level_fit", &renkei__dx_level_fit__descriptor},
        {"", "node_kind", &renkei__node_kind__descriptor},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(map[i].parent, parent) == 0 && strcmp(map[i].name, name) == 0)
            return map[i].d;
    return NULL;
}

/* The Japanese label of code when it says more than the code itself (製造業 for manufacturing, not
 * DX for DX), else NULL. */
static const char *distinct_label(const ProtobufCEnumDescriptor *d, const char *code)
{
    int v = rk_taxonomy_value(d, code);
    const char *ja = v > 0 ? rk_label_ja(d, v) : NULL;
    return ja && strcmp(ja, code) != 0 ? ja : NULL;
}

/* "manufacturing 製造業" for a code with a distinct Japanese label. */
static void code_label(const ProtobufCEnumDescriptor *d, const char *code, char *out, size_t out_size)
{
    const char *ja = distinct_label(d, code);
    if (ja)
        snprintf(out, out_size, "%s %s", code, ja);
    else
        snprintf(out, out_size, "%s", code);
}

static void body_value(const char *parent, const char *name, const json_t *v, char *out, size_t out_size)
{
    const ProtobufCEnumDescriptor *d = field_enum(parent, name);
    if (!d) {
        value_text(name, v, out, out_size);
        return;
    }
    out[0] = '\0';
    if (json_is_string(v)) {
        code_label(d, json_string_value(v), out, out_size);
        return;
    }
    size_t i, used = 0;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        char one[256];
        if (json_is_string(e))
            code_label(d, json_string_value(e), one, sizeof one);
        else
            rk_json_scalar(e, one, sizeof one);
        int n = snprintf(out + used, out_size - used, "%s%s", i ? ", " : "", one);
        if (n < 0 || (size_t)n >= out_size - used)
            break;
        used += (size_t)n;
    }
}

typedef struct kv_list {
    rk_table *t;
    bool failed;
} kv_list;

static void kv_add(kv_list *l, const char *k, const char *v)
{
    const char *cells[2] = {k, v};
    if (!l->failed && rk_table_add(l->t, cells) != 0)
        l->failed = true;
}

/* Flattens a body into "name / value" rows: nested messages become dotted names, lists of messages
 * (results, sources, agenda, speakers) one row per element. */
static void body_rows(kv_list *l, const char *prefix, const char *parent, const json_t *o)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v)
    {
        char name[256];
        snprintf(name, sizeof name, "%s%s", prefix, k);
        if (json_is_object(v)) {
            char p2[260];
            snprintf(p2, sizeof p2, "%s.", name);
            body_rows(l, p2, k, v);
        } else if (json_is_array(v) && !array_of_scalars(v)) {
            size_t i;
            json_t *e;
            json_array_foreach(v, i, e)
            {
                char line[2048] = "";
                size_t used = 0;
                const char *k2;
                json_t *v2;
                json_object_foreach(e, k2, v2)
                {
                    char one[1024];
                    value_text(k2, v2, one, sizeof one);
                    int n = snprintf(line + used, sizeof line - used, "%s%s=%s", used ? "  " : "", k2, one);
                    if (n < 0 || (size_t)n >= sizeof line - used)
                        break;
                    used += (size_t)n;
                }
                char nm[300];
                snprintf(nm, sizeof nm, "%s[%zu]", name, i);
                kv_add(l, nm, line);
            }
        } else {
            char text[8192];
            body_value(parent, k, v, text, sizeof text);
            kv_add(l, name, text);
        }
    }
}

void rk_print_record(const json_t *rec)
{
    static const char *const hdr[2] = {"", ""};
    kv_list l = {rk_table_new(2, hdr), false};
    if (!l.t) {
        fprintf(stderr, "renkei: out of memory\n");
        return;
    }
    static const char *const top[] = {"id", "kind", "rid", "visibility", "language"};
    char text[1024];
    for (size_t i = 0; i < sizeof top / sizeof top[0]; i++) {
        const json_t *v = json_object_get(rec, top[i]);
        if (v) {
            rk_json_scalar(v, text, sizeof text);
            kv_add(&l, top[i], text);
        }
    }
    const json_t *prov = json_object_get(rec, "provenance");
    static const char *const pk[] = {"author", "node", "version", "hash", "signature"};
    for (size_t i = 0; i < sizeof pk / sizeof pk[0]; i++) {
        const json_t *v = json_object_get(prov, pk[i]);
        if (!v)
            v = json_object_get(rec, pk[i]);
        if (v) {
            rk_json_scalar(v, text, sizeof text);
            kv_add(&l, pk[i], text);
        }
    }
    const json_t *body = record_body(rec);
    if (body)
        body_rows(&l, "", "", body);
    if (l.failed)
        fprintf(stderr, "renkei: out of memory\n");
    size_t kw = 0;
    for (size_t r = 0; r < l.t->rows; r++) {
        size_t w = rk_text_width(l.t->cells[2 * r]);
        if (w > kw)
            kw = w;
    }
    for (size_t r = 0; r < l.t->rows; r++) {
        put_padded(l.t->cells[2 * r], kw, false);
        printf("%s\n", l.t->cells[2 * r + 1]);
    }
    rk_table_free(l.t);
}

/* Non-zero counts of one taxonomy ({"code": n, ...}) with Japanese labels, largest first as given. */
static int print_enum_counts(const char *title, const json_t *counts, const ProtobufCEnumDescriptor *d)
{
    static const char *const headers[] = {"", "", ""};
    rk_table *t = rk_table_new(3, headers);
    if (!t)
        return -1;
    const char *code;
    json_t *v;
    json_object_foreach((json_t *)counts, code, v)
    {
        if (!json_is_integer(v) || json_integer_value(v) == 0)
            continue;
        const char *ja = distinct_label(d, code);
        char n[32];
        snprintf(n, sizeof n, "%lld", (long long)json_integer_value(v));
        const char *cells[3] = {code, ja ? ja : "", n};
        if (rk_table_add(t, cells) != 0) {
            rk_table_free(t);
            return -1;
        }
    }
    if (rk_table_rows(t)) {
        printf("\n%s\n", title);
        rk_table_print(t);
    }
    rk_table_free(t);
    return 0;
}

/* GET /v1/stats for people: totals, then the prefectures that have records, with their names. */
int rk_print_stats(const json_t *j)
{
    const json_t *bp = json_object_get(j, "by_prefecture");
    if (!json_is_array(bp))
        return 1; /* not the shape this renderer knows */
    char total[32];
    rk_json_scalar(json_object_get(j, "total"), total, sizeof total);
    printf("records  %s", total);
    const json_t *bk = json_object_get(j, "by_kind");
    const char *k;
    json_t *v;
    const char *sep = " (";
    json_object_foreach((json_t *)bk, k, v)
    {
        printf("%s%s %lld", sep, k, (long long)json_integer_value(v));
        sep = ", ";
    }
    printf("%s\n", sep[0] == ',' ? ")" : "");
    const json_t *bv = json_object_get(j, "by_visibility");
    if (json_is_object(bv))
        printf("public   %lld, network %lld\n", (long long)json_integer_value(json_object_get(bv, "public")),
               (long long)json_integer_value(json_object_get(bv, "network")));
    const json_t *up = json_object_get(j, "upcoming_events");
    if (json_is_object(up))
        printf("upcoming events  %lld\n", (long long)json_integer_value(json_object_get(up, "total")));

    static const char *const headers[] = {"PREFECTURE", "CASES", "EVENTS", "REGIONS", "TOTAL", "UPCOMING"};
    static const char *const keys[] = {"case", "event", "region", "total", "upcoming_events"};
    rk_table *t = rk_table_new(6, headers);
    if (!t)
        return -1;
    size_t i;
    json_t *row;
    json_array_foreach(bp, i, row)
    {
        if (json_integer_value(json_object_get(row, "total")) == 0)
            continue;
        const char *code = json_string_value(json_object_get(row, "code"));
        char label[64], num[5][32];
        if (!code || strcmp(code, "unknown") == 0)
            snprintf(label, sizeof label, "不明");
        else
            rk_prefecture_label(code, label, sizeof label);
        for (size_t c = 0; c < 5; c++)
            rk_json_scalar(json_object_get(row, keys[c]), num[c], sizeof num[c]);
        const char *cells[6] = {label, num[0], num[1], num[2], num[3], num[4]};
        if (rk_table_add(t, cells) != 0) {
            rk_table_free(t);
            return -1;
        }
    }
    printf("\n");
    rk_table_print(t);
    rk_table_free(t);
    if (print_enum_counts("INDUSTRY", json_object_get(j, "by_industry"), &renkei__industry__descriptor) ||
        print_enum_counts("DX LEVEL", json_object_get(j, "by_dx_level"), &renkei__dx_level__descriptor) ||
        print_enum_counts("SKILL", json_object_get(j, "by_skill"), &renkei__skill__descriptor))
        return -1;
    const json_t *bm = json_object_get(j, "by_month");
    if (json_object_size(bm)) {
        printf("\nBY MONTH\n");
        json_object_foreach((json_t *)bm, k, v) printf("%s  %lld\n", k, (long long)json_integer_value(v));
    }
    return 0;
}
