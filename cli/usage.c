/* usage: how the client tells a person that a command was typed wrong, in Japanese when the locale
 * is Japanese.
 *
 * Every usage error of every command goes through rk_usage_error with its English format, which is
 * also the key of the one table below: when rk_cli_japanese() (cli/problems.c, the only locale check)
 * says Japanese, the Japanese format of that key is printed instead, and the hint to read the
 * command's help follows in the same language. Invariant: a Japanese format takes the same
 * conversions, in the same order, as its English key (tests/unit/test_usage.c checks every entry),
 * since both are given the same arguments. A format missing from the table is printed in English:
 * tests/integration/test_cli_usage.py runs every usage error under a Japanese locale to catch one.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct {
    const char *en, *ja;
} usage_ja[] = {
    /* option parsing, shared by every command (cli/main.c, cli/commands.c) */
    {"unknown option or missing value: %s", "オプション %s は使えないか、値が抜けています"},
    {"option %s%s is not used by this command", "オプション %s%s はこのコマンドでは使えません"},
    {"unknown option", "使えないオプションです"},
    {"missing argument", "引数が足りません"},
    {"unexpected argument '%s'", "余分な引数「%s」があります"},
    {"--limit needs a positive number", "--limit には 1 以上の整数を指定してください"},
    /* get, search, export (cli/commands.c) */
    {"--out is for --signed; the JSON view goes to stdout",
     "--out は --signed と一緒に使います。JSON での表示は標準出力に出ます"},
    {"the search TEXT is empty", "検索する語句 TEXT が空です"},
    {"--format must be atom, json, ics, csv, xlsx, jsonld or catalog",
     "--format は atom, json, ics, csv, xlsx, jsonld, catalog のどれかです"},
    {"--from and --to choose events: use them with --format ics or jsonld",
     "--from と --to はイベントの期間です。--format ics か jsonld と一緒に使ってください"},
    {"--all and --limit contradict each other", "--all と --limit は同時に指定できません"},
    /* new (cli/template.c) */
    {"one kind only: case, event or region",
     "種類は一つだけ指定してください: case（事例）、event（イベント）、region（地域）"},
    {"missing kind: case, event or region", "種類を指定してください: case（事例）、event（イベント）、region（地域）"},
    {"'%s' is not a kind: case, event or region",
     "「%s」という種類はありません。case（事例）、event（イベント）、region（地域）のどれかです"},
    /* import (cli/import.c) */
    {"one file only", "ファイルは一つだけ指定してください"},
    {"missing FILE.csv", "CSV ファイル FILE.csv を指定してください"},
    /* members, member, key (cli/members.c, cli/key_rotate.c) */
    {"takes no arguments", "引数はとりません"},
    {"give endorse or revoke", "endorse（推薦）か revoke（失効）を指定してください"},
    {"--key needs the member's public key, 64 hex digits",
     "--key にはメンバーの公開鍵（16進数64文字）を指定してください"},
    {"endorse needs --name", "endorse（推薦）には --name が必要です"},
    {"--reason and --since are for revoke", "--reason と --since は revoke（失効）で使います"},
    {"--name, --kind, --prefecture, --municipality and --url are for endorse",
     "--name, --kind, --prefecture, --municipality, --url は endorse（推薦）で使います"},
    {"--since needs an RFC 3339 time, e.g. 2026-11-30T09:00:00+09:00",
     "--since には RFC 3339 の時刻を指定してください（例: 2026-11-30T09:00:00+09:00）"},
    {"give rotate", "rotate（鍵の更新）を指定してください"},
    {"rotate takes no arguments besides --out", "rotate は --out のほかに引数をとりません"},
    {"rotate needs --out NEWKEYFILE", "rotate には --out NEWKEYFILE が必要です"},
    /* keygen, pubkey, verify (cli/offline.c) */
    {"--out FILE is required", "--out FILE を指定してください"},
    {"expected one key FILE", "鍵のファイル FILE を一つ指定してください"},
    {"expected one FILE with the signed record bytes",
     "署名つきレコードのバイト列を保存した FILE を一つ指定してください"},
    {"--hash needs %d hex characters", "--hash には16進数 %d 文字を指定してください"},
};

size_t rk_usage_count(void)
{
    return sizeof usage_ja / sizeof usage_ja[0];
}

const char *rk_usage_english(size_t i)
{
    return i < rk_usage_count() ? usage_ja[i].en : NULL;
}

const char *rk_usage_japanese(const char *fmt)
{
    for (size_t i = 0; i < rk_usage_count(); i++)
        if (strcmp(usage_ja[i].en, fmt) == 0)
            return usage_ja[i].ja;
    return NULL;
}

const char *rk_usage_text(const char *fmt)
{
    const char *ja = rk_cli_japanese() ? rk_usage_japanese(fmt) : NULL;
    return ja ? ja : fmt;
}

int rk_usage_error(const char *cmd, const char *fmt, ...)
{
    bool ja = rk_cli_japanese();
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "renkei%s%s: ", cmd ? " " : "", cmd ? cmd : "");
    vfprintf(stderr, rk_usage_text(fmt), ap);
    va_end(ap);
    fprintf(stderr, ja ? "\n使い方は 'renkei %s%s--help' で表示できます\n" : "\ntry 'renkei %s%s--help'\n",
            cmd ? cmd : "", cmd ? " " : "");
    return RK_EXIT_USAGE;
}
