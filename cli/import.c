/* import: `renkei import FILE.csv`, records from a spreadsheet.
 *
 * The columns are those of the CSV export (lib/feed.c), so an exported file can be edited and imported
 * back: kind, prefecture, title, summary, industry, dx_level, skills, tags, starts_at, ends_at,
 * event_type, format, status, application_url; any other column named like a field of the record's
 * body is read too (e.g. node_kind for regions), and the export's own columns author_node,
 * prefecture_name, url and version are ignored. Lists (skills, tags...) are ";"-separated. A field the
 * export neutralised against spreadsheet formulas (a leading apostrophe before = + - @ tab or CR) gets
 * its apostrophe back off, exactly undoing the export.
 *
 * Invariants: the file is read whole and every row is checked with the node's own rules
 * (rk_record_from_json_all) before anything is sent, so a file with a bad row publishes nothing unless
 * --skip-bad; a row with an id is merged onto the record the node holds and sent (PUT) only if the
 * merged record differs from it, so re-importing an export changes only the rows that were edited.
 * Row numbers are the spreadsheet's: the header is row 1. Encodings: UTF-8 with or without BOM,
 * UTF-16 with a BOM (Excel's "Unicode text", tab-separated), else CP932 (Excel's "CSV" in a Japanese
 * Windows), converted with iconv.
 */
#include <csv.h>
#include <errno.h>
#include <getopt.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "recjson.h"
#include "taxonomy.h"
#include "text.h"

/* ---------------------------------------------------------------------------- decoding */

/* Converts bytes in charset `from` to UTF-8 in out; -1 if they are not valid in it. */
static int convert(const char *from, const char *in, size_t len, rk_buf *out)
{
    iconv_t cd = iconv_open("UTF-8", from);
    if (cd == (iconv_t)-1)
        return -1;
    int rc = 0;
    char *src = (char *)in;
    size_t left = len;
    while (left > 0 && rc == 0) {
        if (rk_buf_reserve(out, left * 2 + 16) != 0) {
            rc = -1;
            break;
        }
        char *dst = out->data + out->len;
        size_t room = out->cap - out->len - 1;
        size_t r = iconv(cd, &src, &left, &dst, &room);
        out->len = (size_t)(dst - out->data);
        if (r == (size_t)-1 && errno != E2BIG)
            rc = -1;
    }
    iconv_close(cd);
    if (rc == 0 && rk_buf_reserve(out, 1) == 0)
        out->data[out->len] = '\0';
    return rc;
}

/* The file's text as UTF-8 without BOM; *encoding names what it was. */
static int decode(rk_buf *raw, rk_buf *text, const char **encoding)
{
    const char *p = raw->data ? raw->data : "";
    size_t len = raw->len;
    if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) {
        *encoding = "UTF-8 (BOM)";
        return rk_buf_append(text, p + 3, len - 3);
    }
    if (rk_text_valid_utf8(p, len)) {
        *encoding = "UTF-8";
        return rk_buf_append(text, p, len);
    }
    /* Excel's "Unicode text" is UTF-16 with a BOM (and tabs between cells) */
    if (len >= 2 && ((uint8_t)p[0] == 0xFF && (uint8_t)p[1] == 0xFE)) {
        *encoding = "UTF-16LE";
        return convert("UTF-16LE", p + 2, len - 2, text);
    }
    if (len >= 2 && ((uint8_t)p[0] == 0xFE && (uint8_t)p[1] == 0xFF)) {
        *encoding = "UTF-16BE";
        return convert("UTF-16BE", p + 2, len - 2, text);
    }
    *encoding = "Shift_JIS (CP932)";
    return convert("CP932", p, len, text);
}

/* ---------------------------------------------------------------------------- CSV */

static int only_space(unsigned char c)
{
    return c == CSV_SPACE;
}

typedef struct rows {
    json_t *all; /* array of arrays of strings */
    json_t *cur;
    int last_term; /* the character that ended the previous row */
    bool oom;
} rows;

static void on_field(void *s, size_t len, void *ctx)
{
    rows *r = ctx;
    if (r->oom)
        return;
    if (!r->cur && !(r->cur = json_array())) {
        r->oom = true;
        return;
    }
    if (json_array_append_new(r->cur, json_stringn(s ? s : "", s ? len : 0)) != 0)
        r->oom = true;
}

/* Called for every unquoted CR and LF (CSV_REPALL_NL), so an empty line is an empty row and row
 * numbers stay the spreadsheet's; the LF of a CRLF is the same line end, not another row. */
static void on_row(int term, void *ctx)
{
    rows *r = ctx;
    if (r->oom)
        return;
    bool crlf = !r->cur && term == '\n' && r->last_term == '\r';
    r->last_term = term;
    if (crlf)
        return;
    json_t *row = r->cur ? r->cur : json_array();
    r->cur = NULL;
    if (!row || json_array_append_new(r->all, row) != 0)
        r->oom = true;
}

/* ---------------------------------------------------------------------------- rows to records */

static bool ignored_column(const char *name)
{
    static const char *const cols[] = {"author_node", "prefecture_name", "url", "version"};
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++)
        if (strcmp(name, cols[i]) == 0)
            return true;
    return false;
}

static bool top_column(const char *name)
{
    return strcmp(name, "id") == 0 || strcmp(name, "kind") == 0 || strcmp(name, "visibility") == 0 ||
           strcmp(name, "language") == 0 || strcmp(name, "rid") == 0;
}

/* The body field a column fills for a kind: the export's "title" is a region's name. */
static const ProtobufCFieldDescriptor *column_field(const char *kind, const char *col)
{
    const rk_record_form *form = rk_record_form_of(kind);
    if (!form)
        return NULL;
    const ProtobufCMessageDescriptor *d = form->body;
    if (strcmp(kind, "region") == 0 && strcmp(col, "title") == 0)
        col = "name";
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(d, col);
    /* nested messages (venue, contact...) have no single cell */
    return f && f->type != PROTOBUF_C_TYPE_MESSAGE ? f : NULL;
}

/* Undoes the export's formula neutralisation: "'=..." -> "=...". */
static const char *unneutralise(const char *s)
{
    return s[0] == '\'' && s[1] && strchr("=+-@\t\r", s[1]) ? s + 1 : s;
}

static char *trimmed(const char *s, size_t n)
{
    while (n && (*s == ' ' || *s == '\t'))
        s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    return strndup(s, n);
}

/* The JSON value of one cell for field f; NULL with *bad set when the cell cannot be one. An empty
 * cell is JSON null (the field is not given). */
static json_t *cell_value(const ProtobufCFieldDescriptor *f, const char *cell, bool *bad)
{
    *bad = false;
    if (!cell[0])
        return json_null();
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        json_t *arr = json_array();
        for (const char *p = cell; arr && *p;) {
            size_t n = strcspn(p, ";");
            char *item = trimmed(p, n);
            if (!item || (item[0] && json_array_append_new(arr, json_string(item)) != 0)) {
                free(item);
                json_decref(arr);
                return NULL;
            }
            free(item);
            p += n;
            if (*p)
                p++;
        }
        return arr;
    }
    switch (f->type) {
    case PROTOBUF_C_TYPE_BOOL: {
        if (!strcmp(cell, "true") || !strcmp(cell, "TRUE") || !strcmp(cell, "1") || !strcmp(cell, "はい"))
            return json_true();
        if (!strcmp(cell, "false") || !strcmp(cell, "FALSE") || !strcmp(cell, "0") || !strcmp(cell, "いいえ"))
            return json_false();
        *bad = true;
        return NULL;
    }
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_UINT64: {
        char *end;
        errno = 0;
        long long v = strtoll(cell, &end, 10);
        if (errno || *end || end == cell) {
            *bad = true;
            return NULL;
        }
        return json_integer(v);
    }
    case PROTOBUF_C_TYPE_DOUBLE:
    case PROTOBUF_C_TYPE_FLOAT: {
        char *end;
        double v = strtod(cell, &end);
        if (*end || end == cell) {
            *bad = true;
            return NULL;
        }
        return json_real(v);
    }
    default: return json_string(cell);
    }
}

typedef struct row_job {
    size_t row;      /* spreadsheet row number */
    json_t *rec;     /* the record body to send */
    char *id;        /* update target, or NULL for a new record */
    json_t *current; /* for an update, the record as the node holds it (output-only keys removed) */
    bool unchanged;  /* an update that changes nothing */
    bool bad;
} row_job;

static void row_problem(size_t row, const char *field, const char *code, const char *en, const char *ja,
                        const char *suggestion)
{
    char where[32];
    snprintf(where, sizeof where, rk_cli_japanese() ? "%zu行目" : "row %zu", row);
    rk_print_problem(stderr, where, field, code, en, ja, suggestion);
}

/* Drops what the node fills or shows and would only get in the way of comparing and sending. */
static void strip_output_only(json_t *rec)
{
    static const char *const keys[] = {"id",         "hash",       "signature", "author", "version",
                                       "created_at", "provenance", "deleted",   "rid"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        json_object_del(rec, keys[i]);
}

/* The canonical bytes of a record body (parsed with the node's rules), to tell a real edit from a
 * re-import; NULL when it does not parse. */
static uint8_t *packed(const json_t *rec, size_t *len)
{
    Renkei__Record *r;
    if (rk_record_from_json(rec, &r, NULL) != 0)
        return NULL;
    *len = protobuf_c_message_get_packed_size(&r->base);
    uint8_t *buf = malloc(*len ? *len : 1);
    if (buf)
        protobuf_c_message_pack(&r->base, buf);
    renkei__record__free_unpacked(r, NULL);
    return buf;
}

static int fetch_current(rk_cli *cli, const char *id, json_t **out, long *status)
{
    rk_buf p;
    rk_buf_init(&p);
    *out = NULL;
    if (rk_buf_puts(&p, "/v1/records/") || rk_path_add(&p, id)) {
        rk_buf_free(&p);
        return -1;
    }
    rk_http_response resp;
    int rc = rk_http(cli, "GET", p.data, NULL, 0, &resp);
    rk_buf_free(&p);
    if (rc != 0)
        return -1;
    *status = resp.status;
    if (resp.status == 200)
        *out = json_loadb(resp.body.data ? resp.body.data : "", resp.body.len, 0, NULL);
    rk_buf_free(&resp.body);
    return 0;
}

/* Builds the record of one row into job; reports and marks it bad on any problem. Returns -1 only
 * when the node cannot be reached or memory ran out. */
static int build_row(rk_cli *cli, const json_t *header, const json_t *cells, row_job *job)
{
    size_t ncols = json_array_size(header);
    const char *kind = NULL, *id = NULL;
    for (size_t c = 0; c < ncols; c++) {
        const char *col = json_string_value(json_array_get(header, c));
        const char *v = c < json_array_size(cells) ? json_string_value(json_array_get(cells, c)) : "";
        if (!strcmp(col, "kind") && v[0])
            kind = v;
        if (!strcmp(col, "id") && v[0])
            id = v;
    }
    json_t *rec = NULL;
    if (id) {
        long status = 0;
        if (fetch_current(cli, id, &rec, &status) != 0)
            return -1;
        if (!rec || json_is_true(json_object_get(rec, "deleted"))) {
            if (status == 410 || rec)
                row_problem(job->row, "id", "gone", "the record was deleted", "このレコードは削除されています", NULL);
            else if (status == 404)
                row_problem(job->row, "id", "not_found", "no record with this id on the node",
                            "この id のレコードはノードにありません", NULL);
            else
                row_problem(job->row, "id", "invalid_id", "the node could not return the record with this id",
                            "この id のレコードをノードから取得できませんでした", NULL);
            json_decref(rec);
            job->bad = true;
            return 0;
        }
        strip_output_only(rec);
        /* what the node holds, to tell an edited row from one re-imported as it was */
        if (!(job->current = json_deep_copy(rec))) {
            json_decref(rec);
            return -1;
        }
        const char *held = json_string_value(json_object_get(rec, "kind"));
        if (kind && held && strcmp(kind, held) != 0 &&
            rk_taxonomy_value(&renkei__kind__descriptor, kind) != rk_taxonomy_value(&renkei__kind__descriptor, held)) {
            row_problem(job->row, "kind", "kind_mismatch", "an update cannot change the kind of a record",
                        "更新でレコードの種類は変えられません", NULL);
            json_decref(rec);
            job->bad = true;
            return 0;
        }
        kind = held;
        if (!(job->id = strdup(id))) {
            json_decref(rec);
            return -1;
        }
    } else {
        if (!kind) {
            row_problem(job->row, "kind", "missing_field", "kind is required: case, event or region",
                        "kind（case, event, region のどれか）は必須です", NULL);
            job->bad = true;
            return 0;
        }
        int k = rk_taxonomy_value(&renkei__kind__descriptor, kind);
        const char *code = k > 0 ? rk_taxonomy_code(&renkei__kind__descriptor, k) : NULL;
        if (!code || !rk_record_form_of(code)) {
            row_problem(job->row, "kind", "invalid_enum", "kind must be case, event or region",
                        "kind は case, event, region のどれかです", NULL);
            job->bad = true;
            return 0;
        }
        kind = code;
        rec = json_pack("{s:s, s:{}}", "kind", kind, kind);
        if (!rec)
            return -1;
    }
    json_t *body = json_object_get(rec, kind);
    if (!json_is_object(body)) {
        body = json_object();
        if (!body || json_object_set_new(rec, kind, body) != 0) {
            json_decref(rec);
            return -1;
        }
    }
    for (size_t c = 0; c < ncols; c++) {
        const char *col = json_string_value(json_array_get(header, c));
        /* the whole cell was neutralised by the export, so it is restored before lists are split */
        const char *v = unneutralise(c < json_array_size(cells) ? json_string_value(json_array_get(cells, c)) : "");
        if (ignored_column(col) || !strcmp(col, "id") || !strcmp(col, "kind"))
            continue;
        if (top_column(col)) {
            if (!v[0])
                continue; /* visibility and language keep what the record has, or the defaults */
            if (json_object_set_new(rec, col, json_string(v)) != 0) {
                json_decref(rec);
                return -1;
            }
            continue;
        }
        const ProtobufCFieldDescriptor *f = column_field(kind, col);
        if (!f) {
            /* a column of another kind (an event's starts_at on a case row) is fine while empty */
            if (v[0]) {
                char en[160], ja[200];
                snprintf(en, sizeof en, "a %s has no field \"%s\"", kind, col);
                snprintf(ja, sizeof ja, "%s に「%s」という項目はありません", kind, col);
                row_problem(job->row, col, "unknown_field", en, ja, NULL);
                job->bad = true;
            }
            continue;
        }
        bool bad;
        json_t *val = cell_value(f, v, &bad);
        if (bad) {
            row_problem(job->row, col, "wrong_type", "this cell cannot be read as the field's type",
                        "このセルは項目の型（数値や true/false）として読めません", NULL);
            job->bad = true;
            continue;
        }
        if (!val || json_object_set_new(body, f->name, val) != 0) {
            json_decref(rec);
            return -1;
        }
    }
    if (!job->bad) {
        /* the node's own rules, every problem at once */
        rk_problems all;
        rk_problems_init(&all);
        Renkei__Record *r = NULL;
        if (rk_record_from_json_all(rec, &r, &all, NULL) != 0) {
            for (size_t i = 0; i < all.n; i++) {
                const rk_problem *p = &all.items[i];
                /* "case.industry" is the column "industry" */
                const char *dot = strchr(p->field, '.');
                row_problem(job->row, dot ? dot + 1 : p->field, p->code, p->message, p->message_ja, p->suggestion);
            }
            job->bad = true;
        }
        if (r)
            renkei__record__free_unpacked(r, NULL);
        rk_problems_free(&all);
    }
    job->rec = rec;
    return 0;
}

static int send_row(rk_cli *cli, row_job *job, bool ja)
{
    rk_buf path;
    rk_buf_init(&path);
    if (rk_buf_puts(&path, "/v1/records") || (job->id && (rk_buf_puts(&path, "/") || rk_path_add(&path, job->id)))) {
        rk_buf_free(&path);
        return -1;
    }
    char *text = json_dumps(job->rec, JSON_COMPACT);
    if (!text) {
        rk_buf_free(&path);
        return -1;
    }
    rk_http_response resp;
    int rc = rk_http(cli, job->id ? "PUT" : "POST", path.data, text, strlen(text), &resp);
    free(text);
    rk_buf_free(&path);
    if (rc != 0)
        return -1;
    json_t *j = json_loadb(resp.body.data ? resp.body.data : "", resp.body.len, 0, NULL);
    if (resp.status >= 200 && resp.status < 300) {
        const char *id = json_string_value(json_object_get(j, "id"));
        if (cli->json)
            printf("{\"row\": %zu, \"action\": \"%s\", \"id\": \"%s\"}\n", job->row, job->id ? "updated" : "published",
                   id ? id : "");
        else
            printf(ja ? "%zu行目: %s %s\n" : "row %zu: %s %s\n", job->row,
                   job->id ? (ja ? "更新" : "updated") : (ja ? "登録" : "published"), id ? id : "");
        rc = 0;
    } else {
        json_t *e = json_object_get(j, "error");
        json_t *details = json_object_get(e, "details");
        if (json_array_size(details)) {
            char where[32];
            snprintf(where, sizeof where, ja ? "%zu行目" : "row %zu", job->row);
            rk_print_details(stderr, where, details);
        } else {
            row_problem(job->row, json_string_value(json_object_get(e, "field")),
                        json_string_value(json_object_get(e, "code")), json_string_value(json_object_get(e, "message")),
                        NULL, NULL);
        }
        rc = 1;
    }
    json_decref(j);
    rk_buf_free(&resp.body);
    return rc;
}

int rk_cmd_import(rk_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'},         {"json", no_argument, NULL, 'j'},
                                         {"socket", required_argument, NULL, 's'}, {"skip-bad", no_argument, NULL, 'k'},
                                         {"dry-run", no_argument, NULL, 'n'},      {NULL, 0, NULL, 0}};
    bool skip_bad = false, dry_run = false;
    const rk_option_slot slots[] = {{'k', NULL, &skip_bad}, {'n', NULL, &dry_run}, {0, NULL, NULL}};
    int opt_rc = rk_parse_options(cli, "import", argc, argv, &(rk_options){"hs:", opts, slots, NULL, NULL});
    if (opt_rc >= 0)
        return opt_rc;
    if (argc - optind != 1)
        return rk_usage_error("import", argc - optind ? "one file only" : "missing FILE.csv");
    const char *file = argv[optind];
    bool ja = rk_cli_japanese();

    rk_buf raw, text;
    rk_buf_init(&raw);
    rk_buf_init(&text);
    if (rk_read_file(file, &raw) != 0)
        return RK_EXIT_FAIL;
    const char *encoding = "";
    int drc = decode(&raw, &text, &encoding);
    rk_buf_free(&raw);
    if (drc != 0) {
        fprintf(stderr,
                ja ? "renkei: %s は UTF-8 でも Shift_JIS でもありません\n"
                   : "renkei: %s is neither UTF-8 nor Shift_JIS (CP932)\n",
                file);
        rk_buf_free(&text);
        return RK_EXIT_FAIL;
    }

    struct csv_parser parser;
    rows r = {.all = json_array()};
    if (!r.all || csv_init(&parser, CSV_APPEND_NULL | CSV_REPALL_NL) != 0) {
        json_decref(r.all);
        rk_buf_free(&text);
        fprintf(stderr, "renkei: out of memory\n");
        return RK_EXIT_FAIL;
    }
    /* Tab-separated when the header line has tabs and no commas (Excel's "Unicode text", or a
     * copy from a spreadsheet into a text file). */
    size_t line_len = text.data ? strcspn(text.data, "\r\n") : 0;
    if (line_len && memchr(text.data, '\t', line_len) && !memchr(text.data, ',', line_len)) {
        csv_set_delim(&parser, CSV_TAB);
        csv_set_space_func(&parser, only_space); /* a tab is now a separator, not padding */
    }
    size_t text_len = text.len;
    size_t parsed = csv_parse(&parser, text.data ? text.data : "", text_len, on_field, on_row, &r);
    int fin = csv_fini(&parser, on_field, on_row, &r);
    int perr = csv_error(&parser);
    csv_free(&parser);
    json_decref(r.cur);
    rk_buf_free(&text);
    if (parsed != text_len || fin != 0 || r.oom) {
        fprintf(stderr, "renkei: %s: %s\n", file, r.oom ? "out of memory" : csv_strerror(perr));
        json_decref(r.all);
        return RK_EXIT_FAIL;
    }
    int rc = RK_EXIT_OK;
    row_job *jobs = NULL;
    size_t njobs = 0, nbad = 0;
    json_t *header = json_array_get(r.all, 0);
    if (!header) {
        fprintf(stderr, ja ? "renkei: %s は空です\n" : "renkei: %s is empty\n", file);
        json_decref(r.all);
        return RK_EXIT_FAIL;
    }
    /* header names: trimmed, lower case, as the export writes them */
    for (size_t i = 0; i < json_array_size(header); i++) {
        const char *h = json_string_value(json_array_get(header, i));
        char *t = trimmed(h, strlen(h));
        for (char *p = t; p && *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
        if (!t || json_array_set_new(header, i, json_string(t)) != 0) {
            free(t);
            json_decref(r.all);
            fprintf(stderr, "renkei: out of memory\n");
            return RK_EXIT_FAIL;
        }
        free(t);
    }
    size_t nrows = json_array_size(r.all);
    jobs = calloc(nrows ? nrows : 1, sizeof *jobs);
    if (!jobs) {
        json_decref(r.all);
        fprintf(stderr, "renkei: out of memory\n");
        return RK_EXIT_FAIL;
    }
    for (size_t i = 1; i < nrows; i++) {
        json_t *cells = json_array_get(r.all, i);
        bool blank = true;
        for (size_t k = 0; k < json_array_size(cells) && blank; k++)
            blank = json_string_length(json_array_get(cells, k)) == 0;
        if (blank)
            continue; /* spreadsheets leave empty rows at the end */
        row_job *job = &jobs[njobs++];
        job->row = i + 1;
        if (build_row(cli, header, cells, job) != 0) {
            rc = RK_EXIT_FAIL;
            goto done;
        }
        if (job->bad) {
            nbad++;
            continue;
        }
        if (job->current) {
            /* unchanged when the merged record reads the same as the one the node holds */
            size_t la = 0, lb = 0;
            uint8_t *a = packed(job->current, &la), *b = packed(job->rec, &lb);
            job->unchanged = a && b && la == lb && memcmp(a, b, la) == 0;
            free(a);
            free(b);
        }
    }
    size_t good = njobs - nbad;
    if (nbad && !skip_bad) {
        fprintf(stderr,
                ja ? "renkei: %s: %zu 行に誤りがあるため、どの行も登録していません（正しい %zu 行だけ登録するには "
                     "--skip-bad）\n"
                   : "renkei: %s: %zu bad row(s); nothing was published (--skip-bad publishes the %zu good rows)\n",
                file, nbad, good);
        rc = RK_EXIT_FAIL;
        goto done;
    }
    size_t sent = 0, unchanged = 0, failed = 0;
    for (size_t i = 0; i < njobs; i++) {
        row_job *job = &jobs[i];
        if (job->bad)
            continue;
        if (job->unchanged) {
            unchanged++;
            continue;
        }
        if (dry_run) {
            printf(ja ? "%zu行目: %s（--dry-run のため送信せず）\n" : "row %zu: would be %s (--dry-run)\n", job->row,
                   job->id ? (ja ? "更新" : "updated") : (ja ? "登録" : "published"));
            continue;
        }
        int src = send_row(cli, job, ja);
        if (src < 0) {
            rc = RK_EXIT_FAIL;
            goto done;
        }
        if (src > 0)
            failed++;
        else
            sent++;
    }
    if (!cli->json)
        printf(ja ? "%s（%s）: %zu 行を送信、変更なし %zu 行、誤り %zu 行、送信失敗 %zu 行\n"
                  : "%s (%s): %zu row(s) sent, %zu unchanged, %zu bad, %zu failed\n",
               file, encoding, sent, unchanged, nbad, failed);
    if (nbad || failed)
        rc = RK_EXIT_FAIL;
done:
    for (size_t i = 0; i < njobs; i++) {
        json_decref(jobs[i].rec);
        json_decref(jobs[i].current);
        free(jobs[i].id);
    }
    free(jobs);
    json_decref(r.all);
    return rc;
}
