/* template: `renkei new case|event|region`, a record file to fill in, and reading such files back.
 *
 * The template is JSON with comment lines: every line whose first non-blank characters are "//" is
 * an explanation (what the field is, whether it is required, and every valid code with its Japanese
 * label). `renkei publish` and `renkei update` blank those lines before parsing (rk_record_text_clean),
 * so the filled-in file is published as it is; the API itself takes plain JSON. The fields are
 * generated from protobuf-c's descriptors and the codes from lib/taxonomy.c, so a field or code added
 * to the proto appears in the template without touching this file. Empty values mean "not given".
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "jsonlist.h"
#include "taxonomy.h"

void rk_record_text_clean(rk_buf *b)
{
    if (!b->data || !b->len)
        return;
    if (b->len >= 3 && memcmp(b->data, "\xEF\xBB\xBF", 3) == 0) {
        memmove(b->data, b->data + 3, b->len - 3);
        b->len -= 3;
        b->data[b->len] = '\0';
    }
    for (size_t i = 0; i < b->len;) {
        size_t end = i;
        while (end < b->len && b->data[end] != '\n')
            end++;
        size_t k = i;
        while (k < end && (b->data[k] == ' ' || b->data[k] == '\t'))
            k++;
        if (k + 1 < end && b->data[k] == '/' && b->data[k + 1] == '/')
            for (; k < end; k++)
                if (b->data[k] != '\r')
                    b->data[k] = ' ';
        i = end + 1;
    }
}

bool rk_json_prune_empty(json_t *j)
{
    if (json_is_object(j)) {
        const char *key;
        json_t *v;
        void *tmp;
        json_object_foreach_safe(j, tmp, key, v)
        {
            if (rk_json_prune_empty(v))
                json_object_del(j, key);
        }
        return json_object_size(j) == 0;
    }
    if (json_is_array(j)) {
        for (size_t i = json_array_size(j); i-- > 0;)
            if (rk_json_prune_empty(json_array_get(j, i)))
                json_array_remove(j, i);
        return json_array_size(j) == 0;
    }
    /* proto3 defaults: false and 0 are "not given" as much as "" is */
    return json_is_null(j) || json_is_false(j) || (json_is_string(j) && json_string_length(j) == 0) ||
           (json_is_integer(j) && json_integer_value(j) == 0) || (json_is_real(j) && json_real_value(j) == 0.0);
}

static const char *help_of(const char *name)
{
    const rk_field_help *h = rk_field_help_of(name);
    return h ? h->ja : NULL;
}

/* "// industry 業種（必須）: manufacturing 製造業 · ..." wrapped at about 100 columns. */
static int comment_enum(rk_buf *b, const char *indent, const ProtobufCEnumDescriptor *d)
{
    size_t col = 0;
    for (unsigned i = 0; i < d->n_values; i++) {
        const char *code = rk_taxonomy_code(d, d->values[i].value);
        if (!code)
            continue;
        const char *label = rk_label_ja(d, d->values[i].value);
        if (col == 0 || col > 90) {
            if (rk_buf_printf(b, "%s%s//   ", col ? "\n" : "", indent))
                return -1;
            col = strlen(indent) + 5;
        } else if (rk_buf_puts(b, " · ")) {
            return -1;
        }
        if (rk_buf_printf(b, "%s %s", code, label))
            return -1;
        col += strlen(code) + strlen(label) + 3;
    }
    return col ? rk_buf_puts(b, "\n") : 0;
}

static int emit_message(rk_buf *b, const ProtobufCMessageDescriptor *d, const rk_record_form *form, int depth);

/* form: the record's form for the body's own fields, NULL for those of a nested message */
static int emit_field(rk_buf *b, const ProtobufCFieldDescriptor *f, const rk_record_form *form, int depth, bool last)
{
    char indent[32];
    snprintf(indent, sizeof indent, "%*s", 2 * depth, "");
    bool req = form && rk_record_form_requires(form, f->name);
    const char *help = help_of(f->name);
    const rk_taxonomy *tx = f->type == PROTOBUF_C_TYPE_ENUM ? rk_taxonomy_of(f->descriptor) : NULL;
    if (rk_buf_printf(b, "%s// %s", indent, f->name))
        return -1;
    if (help && rk_buf_printf(b, " %s", help))
        return -1;
    else if (!help && tx && rk_buf_printf(b, " %s", tx->title_ja))
        return -1;
    if (f->label == PROTOBUF_C_LABEL_REPEATED && f->type == PROTOBUF_C_TYPE_ENUM && rk_buf_puts(b, "（コードの配列）"))
        return -1;
    if (req && rk_buf_puts(b, "【必須】"))
        return -1;
    if (rk_buf_puts(b, "\n"))
        return -1;
    if (f->type == PROTOBUF_C_TYPE_ENUM && comment_enum(b, indent, f->descriptor))
        return -1;
    if (rk_buf_printf(b, "%s\"%s\": ", indent, f->name))
        return -1;
    int rc;
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        rc = rk_buf_puts(b, "[]");
    else if (f->type == PROTOBUF_C_TYPE_MESSAGE && depth < 3)
        rc = emit_message(b, f->descriptor, NULL, depth + 1);
    else if (f->type == PROTOBUF_C_TYPE_MESSAGE)
        rc = rk_buf_puts(b, "{}");
    else if (f->type == PROTOBUF_C_TYPE_BOOL)
        rc = rk_buf_puts(b, "false");
    else if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_ENUM)
        rc = rk_buf_puts(b, "\"\"");
    else
        rc = rk_buf_puts(b, "0");
    return rc || rk_buf_puts(b, last ? "\n" : ",\n");
}

static int emit_message(rk_buf *b, const ProtobufCMessageDescriptor *d, const rk_record_form *form, int depth)
{
    if (rk_buf_puts(b, "{\n"))
        return -1;
    for (unsigned i = 0; i < d->n_fields; i++)
        if (emit_field(b, &d->fields[i], form, depth, i + 1 == d->n_fields))
            return -1;
    return rk_buf_printf(b, "%*s}", 2 * (depth - 1), "");
}

static int build_template(rk_buf *b, const rk_record_form *form)
{
    const char *kind = form->kind;
    const ProtobufCMessageDescriptor *d = form->body;
    const char *what = form->ja;
    if (rk_buf_printf(
            b,
            "// renkei new %s: %s（%s）のひな形です。\n"
            "// // で始まる行は説明で、renkei publish が読み飛ばします。【必須】の項目を埋め、\n"
            "// 使わない項目は空のまま（\"\" や []）にするか行ごと消してください。\n"
            "// コードの代わりに日本語のラベル（製造業）や都道府県名（石川県）も使えます。一覧: renkei codes\n"
            "// 登録: renkei publish このファイル    更新: renkei update ID このファイル\n"
            "{\n"
            "  \"kind\": \"%s\",\n"
            "  // visibility 公開範囲: public 公開（全国のネットワークと公開フィードに出ます）·\n"
            "  //   network ネットワーク内（参加ノードだけ、公開フィードには出ません）· local "
            "ローカル（このノードだけ）\n"
            "  \"visibility\": \"public\",\n"
            "  \"%s\": ",
            kind, what, kind, kind, kind) ||
        emit_message(b, d, form, 2) || rk_buf_puts(b, "\n}\n"))
        return -1;
    return 0;
}

int rk_cmd_new(rk_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'},
                                         {"out", required_argument, NULL, 'o'},
                                         {"ask", no_argument, NULL, 'a'},
                                         {NULL, 0, NULL, 0}};
    const char *out = NULL;
    bool ask = false;
    const rk_option_slot slots[] = {{'o', &out, NULL}, {'a', NULL, &ask}, {0, NULL, NULL}};
    int opt_rc = rk_parse_options(cli, "new", argc, argv, &(rk_options){"ho:", opts, slots, NULL, NULL});
    if (opt_rc >= 0)
        return opt_rc;
    if (argc - optind != 1)
        return rk_usage_error("new", argc - optind ? "one kind only: case, event or region"
                                                   : "missing kind: case, event or region");
    const char *kind = argv[optind];
    const rk_record_form *form = rk_record_form_of(kind);
    if (!form)
        return rk_usage_error("new", "'%s' is not a kind: case, event or region", kind);
    rk_buf b;
    rk_buf_init(&b);
    if (ask) {
        json_t *rec = NULL;
        int arc = rk_new_ask(form, stdin, &rec);
        if (arc != 0) {
            if (arc < 0)
                fprintf(stderr, "renkei: out of memory\n");
            return RK_EXIT_FAIL;
        }
        int drc = rk_jsonlist_dump(rec, JSON_INDENT(2) | JSON_PRESERVE_ORDER, &b) || rk_buf_puts(&b, "\n");
        json_decref(rec);
        if (drc) {
            rk_buf_free(&b);
            fprintf(stderr, "renkei: out of memory\n");
            return RK_EXIT_FAIL;
        }
    } else if (build_template(&b, form) != 0) {
        rk_buf_free(&b);
        fprintf(stderr, "renkei: out of memory\n");
        return RK_EXIT_FAIL;
    }
    int rc = RK_EXIT_OK;
    if (!out) {
        if (fwrite(b.data, 1, b.len, stdout) != b.len || fflush(stdout) != 0)
            rc = RK_EXIT_FAIL;
    } else {
        /* never over someone's filled-in file */
        int fd = open(out, O_WRONLY | O_CREAT | O_EXCL, 0644);
        FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
        if (!f) {
            fprintf(stderr, "renkei: cannot create %s: %s\n", out, strerror(errno));
            if (fd >= 0)
                close(fd);
            rc = RK_EXIT_FAIL;
        } else {
            bool bad = fwrite(b.data, 1, b.len, f) != b.len;
            if (fclose(f) != 0 || bad) {
                fprintf(stderr, "renkei: cannot write %s: %s\n", out, strerror(errno));
                rc = RK_EXIT_FAIL;
            } else {
                fprintf(stderr,
                        rk_cli_japanese() ? "%s を作りました。埋めたら renkei publish %s で登録します。\n"
                                          : "wrote %s; fill it in, then: renkei publish %s\n",
                        out, out);
            }
        }
    }
    rk_buf_free(&b);
    return rc;
}
