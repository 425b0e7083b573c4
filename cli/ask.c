/* ask: `renkei new KIND --ask`, a record asked for field by field instead of a file to edit.
 *
 * For people who would rather answer questions than edit JSON: the main fields of the kind are asked
 * one at a time (prompts on stderr, in Japanese when the locale is), a taxonomy is shown as a numbered
 * list of codes with their Japanese labels and answered by number, code or label, and each answer is
 * checked at once with the node's rules (lib/recjson.c); a rejected answer is explained, with the
 * suggestion for a near miss, and asked again. Empty answers leave optional fields out. The result is
 * the record's JSON in canonical form (codes, not what was typed), which `renkei publish` takes. Answers are read as lines from stdin, so the same
 * questions can be answered by a script.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "recjson.h"
#include "recview.h"
#include "taxonomy.h"

/* The question for a field whose name does not say it, or NULL (a taxonomy shows its own title). */
static const char *hint(const char *field, bool ja)
{
    const rk_field_help *h = rk_field_help_of(field);
    if (!h || !h->ask_en)
        return NULL;
    return ja ? (h->ask_ja ? h->ask_ja : h->ja) : h->ask_en;
}

/* One line from in without its line end; NULL at end of input. */
static char *read_answer(FILE *in, char *buf, size_t cap)
{
    if (!fgets(buf, (int)cap, in))
        return NULL;
    buf[strcspn(buf, "\r\n")] = '\0';
    return buf;
}

/* "3" picks the third code of the list shown; anything else is passed on for the node's rules. */
static const char *by_number(const ProtobufCEnumDescriptor *d, const char *answer)
{
    char *end;
    long n = strtol(answer, &end, 10);
    if (!d || end == answer || *end || n < 1)
        return answer;
    long k = 0;
    for (unsigned i = 0; i < d->n_values; i++) {
        const char *code = rk_taxonomy_code(d, d->values[i].value);
        if (code && ++k == n)
            return code;
    }
    return answer;
}

static void show_choices(const ProtobufCEnumDescriptor *d)
{
    int k = 0;
    for (unsigned i = 0; i < d->n_values; i++) {
        const char *code = rk_taxonomy_code(d, d->values[i].value);
        if (code)
            fprintf(stderr, "  %2d) %s  %s\n", ++k, code, rk_label_ja(d, d->values[i].value));
    }
}

/* The JSON value of an answer for field f: a list is split on ';' or ',' (numbers picked from the
 * choices), anything else is a string. */
static json_t *answer_value(const ProtobufCFieldDescriptor *f, const char *answer)
{
    const ProtobufCEnumDescriptor *d = f->type == PROTOBUF_C_TYPE_ENUM ? f->descriptor : NULL;
    if (f->label != PROTOBUF_C_LABEL_REPEATED)
        return json_string(by_number(d, answer));
    json_t *arr = json_array();
    char *copy = strdup(answer);
    if (!arr || !copy) {
        free(copy);
        json_decref(arr);
        return NULL;
    }
    char *save = NULL;
    for (char *tok = strtok_r(copy, ";,", &save); tok; tok = strtok_r(NULL, ";,", &save)) {
        while (*tok == ' ')
            tok++;
        size_t n = strlen(tok);
        while (n && tok[n - 1] == ' ')
            tok[--n] = '\0';
        if (n && json_array_append_new(arr, json_string(by_number(d, tok))) != 0) {
            json_decref(arr);
            arr = NULL;
            break;
        }
    }
    free(copy);
    return arr;
}

/* The problems the node's rules find in the record for one field (or its items). */
static const rk_problem *problem_for(const rk_problems *all, const char *path)
{
    size_t len = strlen(path);
    for (size_t i = 0; i < all->n; i++)
        if (strncmp(all->items[i].field, path, len) == 0 &&
            (all->items[i].field[len] == '\0' || all->items[i].field[len] == '['))
            return &all->items[i];
    return NULL;
}

int rk_new_ask(const rk_record_form *form, FILE *in, json_t **out)
{
    bool ja = rk_cli_japanese();
    const char *kind = form->kind;
    const ProtobufCMessageDescriptor *d = form->body;
    json_t *rec = json_pack("{s:s, s:{}}", "kind", kind, kind);
    if (!rec)
        return -1;
    json_t *body = json_object_get(rec, kind);
    if (ja) {
        int kv = rk_taxonomy_value(&renkei__kind__descriptor, kind);
        fprintf(stderr, "%s（%s）を項目ごとに入力します（空欄で省略、必須の項目は * つき）。\n",
                kv > 0 ? rk_label_ja(&renkei__kind__descriptor, kv) : kind, kind);
    } else {
        fprintf(stderr, "Enter the %s field by field (empty skips; * marks required fields).\n", kind);
    }
    for (const char *const *q = form->asked; *q; q++) {
        const char *field = *q;
        bool required = rk_record_form_requires(form, field);
        const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(d, field);
        if (!f)
            continue;
        const rk_taxonomy *tx = f->type == PROTOBUF_C_TYPE_ENUM ? rk_taxonomy_of(f->descriptor) : NULL;
        char path[64];
        snprintf(path, sizeof path, "%s.%s", kind, field);
        for (bool first = true;; first = false) {
            const char *what = hint(field, ja);
            if (!what)
                what = tx ? (ja ? tx->title_ja : tx->title_en) : field;
            if (tx) {
                if (first)
                    show_choices(f->descriptor);
                fprintf(stderr, ja ? "%s%s %s（番号・コード・ラベル%s）: " : "%s%s %s (number, code or label%s): ",
                        required ? "*" : " ", field, what,
                        f->label == PROTOBUF_C_LABEL_REPEATED ? (ja ? "、; で区切って複数可" : "; several with ;")
                                                              : "");
            } else {
                fprintf(stderr, "%s%s %s: ", required ? "*" : " ", field, what);
            }
            char line[2048];
            if (!read_answer(in, line, sizeof line)) {
                fprintf(stderr, ja ? "\nrenkei: 入力が途中で終わりました。何も書き出していません。\n"
                                   : "\nrenkei: input ended before the last question; nothing was written\n");
                json_decref(rec);
                return 1;
            }
            if (!line[0] && !required)
                break;
            json_t *v = line[0] ? answer_value(f, line) : NULL;
            if (line[0] && (!v || json_object_set_new(body, field, v) != 0)) {
                json_decref(rec);
                return -1;
            }
            if (!line[0])
                json_object_del(body, field);
            /* the node's rules on the record so far; only this field's problems matter now */
            rk_problems all;
            rk_problems_init(&all);
            Renkei__Record *r = NULL;
            rk_record_from_json_all(rec, &r, &all, NULL);
            if (r)
                renkei__record__free_unpacked(r, NULL);
            const rk_problem *p = problem_for(&all, path);
            if (!p) {
                rk_problems_free(&all);
                break;
            }
            rk_print_problem(stderr, NULL, p->field, p->code, p->message, p->message_ja, p->suggestion);
            rk_problems_free(&all);
            json_object_del(body, field);
        }
    }
    /* the canonical form (codes, not the labels or names typed), as the node will store it */
    Renkei__Record *r = NULL;
    if (rk_record_from_json(rec, &r, NULL) != 0) {
        /* every answer passed on its own; a rule across fields failed (an end before its start) */
        rk_problems all;
        rk_problems_init(&all);
        rk_record_from_json_all(rec, &r, &all, NULL);
        for (size_t i = 0; i < all.n; i++)
            rk_print_problem(stderr, NULL, all.items[i].field, all.items[i].code, all.items[i].message,
                             all.items[i].message_ja, all.items[i].suggestion);
        rk_problems_free(&all);
        json_decref(rec);
        return 1;
    }
    json_decref(rec);
    *out = rk_json_from_message(&r->base);
    renkei__record__free_unpacked(r, NULL);
    return *out ? 0 : -1;
}
