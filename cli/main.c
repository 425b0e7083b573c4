/* main: `renkei [-s SOCKET] [--json] COMMAND ...`, the command-line client of a renkei node.
 *
 * Global options come before the command; -s and --json are also accepted after it so that
 * `renkei list --json` works as people type it. The socket is -s, else $RENKEI_SOCKET, else the
 * packaged default. Usage errors exit 2, every other failure 1 (see cli.h).
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define DEFAULT_SOCKET "/run/renkei/api.sock"

typedef int (*cmd_fn)(rk_cli *, int, char **);

static const struct {
    const char *name;
    cmd_fn fn;
    const char *synopsis;
    const char *help;
} commands[] = {
    {"keygen", rk_cmd_keygen, "keygen --out FILE",
     "Creates a node key (Ed25519) in FILE with mode 0600 and prints its public key as 64 hex characters.\n"
     "Refuses to overwrite an existing file. Needs no daemon.\n"},
    {"pubkey", rk_cmd_pubkey, "pubkey FILE", "Prints the public key of the key in FILE (64 hex characters).\n"},
    {"codes", rk_cmd_codes, "codes [TAXONOMY]",
     "Lists every code a record may use with its Japanese label (すべてのコードと日本語ラベル): industry,\n"
     "dx_level, skills, audience, event_type, format, prefecture (JIS X 0401), visibility and the rest;\n"
     "without TAXONOMY, all of them. Input may use the label (製造業) or a prefecture's name (石川県, 石川)\n"
     "instead of the code, in any case (AI); records store the code. The same lists are in lib/taxonomy.c\n"
     "and proto/renkei.proto. Needs no daemon.\n"},
    {"new", rk_cmd_new, "new case|event|region [--ask] [--out FILE]",
     "Writes a record template to fill in (ひな形): every field, the required ones marked 【必須】, and\n"
     "every valid code with its Japanese label on // comment lines, which `renkei publish` skips.\n"
     "--ask asks the main fields one by one instead (choices by number, code or label, each answer\n"
     "checked at once) and writes the record's JSON. --out refuses to overwrite an existing file.\n"
     "Needs no daemon.\n"},
    {"verify", rk_cmd_verify, "verify [--hash HEX] FILE",
     "Checks a signed record offline: FILE holds the raw bytes served by\n"
     "`renkei get --signed --out FILE ID` (GET /v1/records/{id}?format=signed). Prints the author, rid,\n"
     "kind, version and hash when the signature holds; --hash also requires that exact hash.\n"
     "Exits 1 if anything in the file was changed.\n"},
    {"status", rk_cmd_status, "status", "Shows the node's name, kind, key, record counts and peers summary.\n"},
    {"peers", rk_cmd_peers, "peers",
     "Shows each peer: state, last sync, records exchanged and rejections by reason.\n"},
    {"publish", rk_cmd_publish, "publish FILE|-",
     "Publishes a new record from JSON ({\"kind\":\"case\",\"case\":{...}}; start from `renkei new case`, see\n"
     "config/samples/ and docs/api.md). The node fills author and version and signs. Prints the record's\n"
     "id, version and hash. A UTF-8 BOM and // comment lines are skipped; codes may be given as their\n"
     "Japanese labels (製造業) and prefectures by name (石川県); `renkei codes` lists them. Every mistake\n"
     "of the record is listed at once, in Japanese when LANG is Japanese, with a suggestion for a typo.\n"},
    {"update", rk_cmd_update, "update ID FILE|-",
     "Publishes a new version of the record ID (only the node that published it can).\n"},
    {"delete", rk_cmd_delete, "delete ID", "Deletes the record ID by publishing a signed tombstone.\n"},
    {"get", rk_cmd_get, "get [--signed --out FILE] ID",
     "Shows a record with its provenance. With --signed, fetches the raw signed bytes instead\n"
     "(to --out FILE, or to stdout when it is not a terminal) for `renkei verify`.\n"
     "ID is \"<author hex>:<rid>\", or a bare rid for this node's own records.\n"},
    {"list", rk_cmd_list,
     "list [--kind K] [--prefecture P] [--industry I] [--dx-level D] [--skill S] [--audience A]\n"
     "            [--author KEY|NAME] [--limit N] [--cursor C] [--all]",
     "Lists current records, filtered. Codes as listed by `renkei codes`: --kind case|event|region,\n"
     "--prefecture 01..47 (or a name: 石川県), --industry manufacturing (or 製造業, or the JSIC letter E),\n"
     "--dx-level value_add,\n"
     "--skill robotics, --audience owner; --author takes a node key or a member's name from the node's\n"
     "configuration. --all follows next_cursor through every page.\n"},
    {"search", rk_cmd_search, "search TEXT [list filters]",
     "Full-text search in Japanese and English (q=TEXT), with the same filters as list.\n"},
    {"events", rk_cmd_events,
     "events [--from DATE] [--to DATE] [--prefecture P] [--format online|onsite|hybrid]\n"
     "            [--open-scope local|nationwide] [--limit N]",
     "Lists events overlapping a date range (YYYY-MM-DD or RFC 3339), soonest first. Without --from,\n"
     "the range starts now: past events need an explicit --from.\n"},
    {"export", rk_cmd_export,
     "export --format atom|json|ics|csv|xlsx|jsonld|catalog [--kind K] [--prefecture P] [--industry I]\n"
     "            [-q TEXT] [--limit N] [--from DATE] [--to DATE] [--all] [--out FILE]",
     "Downloads the node's public export (Atom feed, JSON Feed, iCalendar, CSV, Excel workbook,\n"
     "schema.org events, DCAT catalog) to stdout or FILE. The calendar starts 180 days back unless\n"
     "--from (YYYY-MM-DD) is given; --all gives every event ever published, or a feed's largest page.\n"},
    {"stats", rk_cmd_stats, "stats", "Shows record counts, by prefecture (with names), kind, industry and more.\n"},
    {"regions", rk_cmd_regions, "regions", "Shows the region profiles known to the node.\n"},
    {"import", rk_cmd_import, "import [--skip-bad] [--dry-run] FILE.csv",
     "Publishes the rows of a CSV file as records (表計算から一括登録), in the columns of the CSV export\n"
     "(`renkei export --format csv`): kind, prefecture, title, summary, industry, dx_level, skills, tags,\n"
     "starts_at, ends_at, event_type, format, status, application_url; other columns named like a field\n"
     "of the record are read too, and author_node, prefecture_name, url and version are ignored. UTF-8\n"
     "with or without BOM, Shift_JIS/CP932 or UTF-16 (tab-separated) as Excel saves them. A row with an\n"
     "id updates that record,\n"
     "only if something changed. Every bad row is reported with its row number and field, and then no\n"
     "row is published unless --skip-bad; --dry-run checks without publishing.\n"},
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void main_help(FILE *f)
{
    fprintf(f, "usage: renkei [-s SOCKET] [--json] COMMAND [ARGS]\n\n"
               "The command-line client of a renkei node (連携: a federated peer-sync network for regional DX\n"
               "and reskilling coordinators).\n\n"
               "options:\n"
               "  -s, --socket SOCKET  the node's API socket (default: $RENKEI_SOCKET, else " DEFAULT_SOCKET ")\n"
               "  --json               print the API's JSON as is, for scripts\n"
               "  -h, --help           this help; `renkei COMMAND --help` explains one command\n"
               "  --version            the client's version\n\n"
               "commands (offline):\n");
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (i == 5)
            fprintf(f, "\ncommands (talk to the node):\n");
        const char *nl = strchr(commands[i].synopsis, '\n');
        fprintf(f, "  %.*s\n", nl ? (int)(nl - commands[i].synopsis) : (int)strlen(commands[i].synopsis),
                commands[i].synopsis);
    }
    fprintf(f, "\nexit status: 0 success, 1 failure (API error, unreachable node, failed verification),\n"
               "2 usage error.\n");
}

void rk_command_help(const char *cmd)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, cmd) == 0) {
            printf("usage: renkei [-s SOCKET] [--json] %s\n\n%s", commands[i].synopsis, commands[i].help);
            return;
        }
}

int rk_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "renkei%s%s: ", cmd ? " " : "", cmd ? cmd : "");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\ntry 'renkei %s%s--help'\n", cmd ? cmd : "", cmd ? " " : "");
    return RK_EXIT_USAGE;
}

int main(int argc, char **argv)
{
    rk_cli cli = {0};
    const char *env = getenv("RENKEI_SOCKET");
    cli.socket = env && env[0] ? env : DEFAULT_SOCKET;
    static const struct option opts[] = {
        {"socket", required_argument, NULL, 's'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "+s:h", opts, NULL)) != -1) {
        switch (c) {
        case 's': cli.socket = optarg; break;
        case 'j': cli.json = true; break;
        case 'h': main_help(stdout); return RK_EXIT_OK;
        case 'V': printf("renkei %s\n", RENKEI_VERSION); return RK_EXIT_OK;
        default: main_help(stderr); return RK_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        main_help(stderr);
        return RK_EXIT_USAGE;
    }
    const char *name = argv[optind];
    if (strcmp(name, "help") == 0) {
        if (optind + 1 < argc)
            for (size_t i = 0; i < NCOMMANDS; i++)
                if (strcmp(commands[i].name, argv[optind + 1]) == 0) {
                    rk_command_help(argv[optind + 1]);
                    return RK_EXIT_OK;
                }
        main_help(stdout);
        return RK_EXIT_OK;
    }
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return commands[i].fn(&cli, argc - optind, argv + optind);
    fprintf(stderr, "renkei: unknown command '%s'\n\n", name);
    main_help(stderr);
    return RK_EXIT_USAGE;
}
