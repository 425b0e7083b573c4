/* cli: shared declarations of the `renkei` command-line client.
 *
 * Exit codes are part of the interface scripts rely on: 0 success, 1 failure (API error, connection
 * failure, verification failure), 2 usage error. Every command reports its own failures on stderr
 * as "renkei: ..." and returns one of these codes; nothing below main() calls exit().
 */
#ifndef RENKEI_CLI_H
#define RENKEI_CLI_H

#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "renkei.pb-c.h"
#include "util.h"

enum { RK_EXIT_OK = 0, RK_EXIT_FAIL = 1, RK_EXIT_USAGE = 2 };

typedef struct rk_cli {
    const char *socket; /* API socket path */
    bool json;          /* print the API's JSON as is */
} rk_cli;

/* ---- http.c: HTTP/1.1 over the node's Unix socket (libcurl) ------------------------------------ */

typedef struct rk_http_response {
    long status;
    rk_buf body;
    char content_type[128];
} rk_http_response;

/* Sends one request; path starts with "/" and is already encoded. body may be NULL. Returns 0 when a
 * response arrived (whatever its status) and -1, after printing why, when the node could not be
 * reached. The caller frees resp->body. */
int rk_http(const rk_cli *cli, const char *method, const char *path, const char *body, size_t body_len,
            rk_http_response *resp);

/* Prints an API error response as "renkei: <message> (<code>, field <field>)". */
void rk_http_report_error(const rk_cli *cli, const rk_http_response *resp);

/* Performs a request, reports errors, and parses a JSON answer. Returns NULL (after reporting) on any
 * failure; in --json mode a JSON error body is also echoed to stdout. */
json_t *rk_http_json(const rk_cli *cli, const char *method, const char *path, const char *body, size_t body_len,
                     long *status);

/* A query string builder: appends "?k=v" / "&k=v" with the value URL-encoded; NULL values are
 * skipped. Returns -1 on allocation failure. */
int rk_query_add(rk_buf *url, const char *key, const char *value);
/* Appends a path segment URL-encoded, keeping ':' (record ids are "<hex>:<rid>"). */
int rk_path_add(rk_buf *url, const char *segment);

/* ---- view.c: human output (tables aligned for Japanese text) ---------------------------------- */

typedef struct rk_table rk_table;
rk_table *rk_table_new(size_t ncols, const char *const *headers);
/* Copies the cells; NULL cells print as empty. Returns -1 on allocation failure. */
int rk_table_add(rk_table *t, const char *const *cells);
void rk_table_print(const rk_table *t);
void rk_table_free(rk_table *t);
size_t rk_table_rows(const rk_table *t);

/* Copies s into out, cut to at most max_cols terminal columns ("…" marks a cut). */
void rk_fit_width(const char *s, size_t max_cols, char *out, size_t out_size);
/* "13 東京都" for a valid prefecture code, else the code itself. */
void rk_prefecture_label(const char *code, char *out, size_t out_size);
/* Prints any JSON value as an aligned, readable outline (objects of objects become tables). */
void rk_print_json_human(const json_t *j);
/* Prints the JSON value compactly-but-readably (indented, UTF-8 kept) with a trailing newline. */
void rk_print_json(const json_t *j);
/* The --json answer of a command that builds its own: prints j as rk_print_json does and releases it.
 * j is handed over, NULL when building it ran out of memory. RK_EXIT_OK, or RK_EXIT_FAIL after
 * saying so. */
int rk_print_json_owned(json_t *j);
/* A JSON scalar as text into out ("" for null or containers). */
void rk_json_scalar(const json_t *v, char *out, size_t out_size);
/* The human view of a record as returned by GET /v1/records/{id}. */
void rk_print_record(const json_t *rec);
/* The human view of GET /v1/stats: totals, the prefectures with records (with their names), the
 * taxonomies with Japanese labels, the months. 0, 1 when j is not the shape it knows (print it
 * generically), -1 out of memory. */
int rk_print_stats(const json_t *j);
/* One-line summary fields of a record: its title (or name) and prefecture code. */
const char *rk_record_title(const json_t *rec);
const char *rk_record_prefecture(const json_t *rec);

/* ---- problems.c: a record's mistakes, for people --------------------------------------------- */

/* True when the locale (LC_ALL, LC_MESSAGES, LANG) is Japanese. */
bool rk_cli_japanese(void);
/* One line "  [where ]field: message [code] -> suggestion", the message in the locale's language. */
void rk_print_problem(FILE *f, const char *where, const char *field, const char *code, const char *message,
                      const char *message_ja, const char *suggestion);
/* Prints every entry of an API error's details array; returns how many. */
size_t rk_print_details(FILE *f, const char *where, const json_t *details);

/* ---- template.c: record templates (`renkei new`) and reading them back ----------------------- */

/* Removes a leading UTF-8 BOM and blanks every line whose first non-blank characters are "//" (the
 * comments of a template), keeping line and column numbers for JSON error messages. A JSON string
 * cannot span lines, so such a line is never inside a string. */
void rk_record_text_clean(rk_buf *b);
/* Removes, recursively, the members and items that say "not given" ("", [], {}, null, false, 0), so an
 * untouched template field is left out rather than sent; true when j itself is then empty. */
bool rk_json_prune_empty(json_t *j);

/* ---- form.c: the kinds of record a coordinator writes ------------------------------------------ */

/* A kind of record a coordinator writes (case, event, region): the body's message, the body fields
 * the node requires, the fields --ask asks, and what the kind is called in Japanese. The template,
 * --ask and the CSV import all read them here. */
typedef struct rk_record_form {
    const char *kind;
    const ProtobufCMessageDescriptor *body;
    const char *const *required; /* NULL-terminated */
    const char *const *asked;    /* NULL-terminated, in the order they are asked */
    const char *ja;
} rk_record_form;
/* The form of kind, or NULL for any other kind. */
const rk_record_form *rk_record_form_of(const char *kind);
/* Whether the node requires field of form's body. */
bool rk_record_form_requires(const rk_record_form *form, const char *field);

/* What a body field is to a coordinator: the template's explanation in Japanese, and the question
 * --ask puts. ask_en NULL: no question of its own (the field's name or its taxonomy's title is asked);
 * ask_ja NULL with ask_en set: the explanation is the Japanese question. */
typedef struct rk_field_help {
    const char *field, *ja;
    const char *ask_ja, *ask_en;
} rk_field_help;
/* The help of the field of that name, or NULL when its name says it all. */
const rk_field_help *rk_field_help_of(const char *field);

/* ---- ask.c: a record asked for field by field -------------------------------------------------- */

/* Asks the main fields of a record of form's kind on stderr, reading answers as lines from in and
 * checking each at once. 0 with *out the record's JSON; 1 when the input ended first (after saying
 * so); -1 when memory ran out. */
int rk_new_ask(const rk_record_form *form, FILE *in, json_t **out);

/* ---- commands --------------------------------------------------------------------------------- */

int rk_cmd_keygen(rk_cli *cli, int argc, char **argv);
int rk_cmd_pubkey(rk_cli *cli, int argc, char **argv);
int rk_cmd_verify(rk_cli *cli, int argc, char **argv);

int rk_cmd_status(rk_cli *cli, int argc, char **argv);
int rk_cmd_peers(rk_cli *cli, int argc, char **argv);
int rk_cmd_publish(rk_cli *cli, int argc, char **argv);
int rk_cmd_update(rk_cli *cli, int argc, char **argv);
int rk_cmd_delete(rk_cli *cli, int argc, char **argv);
int rk_cmd_get(rk_cli *cli, int argc, char **argv);
int rk_cmd_list(rk_cli *cli, int argc, char **argv);
int rk_cmd_search(rk_cli *cli, int argc, char **argv);
int rk_cmd_events(rk_cli *cli, int argc, char **argv);
int rk_cmd_export(rk_cli *cli, int argc, char **argv);
int rk_cmd_stats(rk_cli *cli, int argc, char **argv);
int rk_cmd_regions(rk_cli *cli, int argc, char **argv);
int rk_cmd_codes(rk_cli *cli, int argc, char **argv);
int rk_cmd_web(rk_cli *cli, int argc, char **argv);
int rk_cmd_new(rk_cli *cli, int argc, char **argv);
int rk_cmd_import(rk_cli *cli, int argc, char **argv);
int rk_cmd_members(rk_cli *cli, int argc, char **argv);
int rk_cmd_member(rk_cli *cli, int argc, char **argv);
int rk_cmd_key(rk_cli *cli, int argc, char **argv);

/* ---- usage.c: usage errors in the person's language -------------------------------------------- */

/* Prints "renkei CMD: <msg>" and a hint to run `renkei CMD --help` on stderr, in Japanese when the
 * locale is (fmt, in English, is the key of the Japanese text); returns RK_EXIT_USAGE. */
int rk_usage_error(const char *cmd, const char *fmt, ...) RK_PRINTF(2, 3);
/* fmt's Japanese format when the locale is Japanese and the table has one, else fmt. */
const char *rk_usage_text(const char *fmt) __attribute__((format_arg(1)));
/* The table itself, for its test: the Japanese format of the English fmt (NULL when it has none),
 * the number of entries and the English key of entry i. */
const char *rk_usage_japanese(const char *fmt);
size_t rk_usage_count(void);
const char *rk_usage_english(size_t i);

/* ---- main.c: shared option handling ------------------------------------------------------------ */

/* Prints the help text of one command on stdout. */
void rk_command_help(const char *cmd);
/* What a command does with one of its own options c (its value, if any, in optarg): -1 to go on, else
 * the exit code that ends the command (a usage error, or RK_EXIT_FAIL). ctx is the command's. */
typedef int (*rk_own_option)(int c, void *ctx);
/* One of a command's own options and where it goes: *text = optarg for an option with a value,
 * *flag = true for one without. A slot with neither is not taken (an option this call does not
 * offer). A list of slots ends with c == 0. */
typedef struct rk_option_slot {
    int c;
    const char **text;
    bool *flag;
} rk_option_slot;
/* The options of one command: getopt_long's two lists, then where its own options go: slots (may be
 * NULL), and own(c, ctx) for what the slots do not take (may be NULL). */
typedef struct rk_options {
    const char *shortopts;
    const struct option *longopts;
    const rk_option_slot *slots;
    rk_own_option own;
    void *ctx;
} rk_options;
/* Runs getopt_long over argv the way every command does: -h/--help prints cmd's help and ends the
 * command with RK_EXIT_OK, --json and -s/--socket set cli, the command's own options go where o says,
 * and any other (getopt's '?' for an unknown option or a missing value included) is a usage error.
 * Returns -1 to go on with the arguments from optind, else the exit code. */
int rk_parse_options(rk_cli *cli, const char *cmd, int argc, char **argv, const rk_options *o);
/* Options of a command that takes only -h/--help and --json, and at most max_args arguments (from
 * optind on). Returns -1 to go on, else the exit code (help printed, or a usage error). */
int rk_parse_help_json(rk_cli *cli, const char *cmd, int argc, char **argv, int max_args);

/* Reads a whole file ("-" is stdin) into buf. Reports failures; returns -1 on error. */
int rk_read_file(const char *path, rk_buf *buf);

#endif
