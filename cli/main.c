/* main: `renkei [-s SOCKET] [--json] COMMAND ...`, the command-line client of a renkei node.
 *
 * Global options come before the command; -s and --json are also accepted after it so that
 * `renkei list --json` works as people type it. The socket is -s, else $RENKEI_SOCKET, else the
 * packaged default. Usage errors exit 2, every other failure 1 (see cli.h). Help is in Japanese when
 * the locale is (cli/problems.c decides); every command has both texts.
 */
#include <getopt.h>
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
     "--dx-level value_add, --skill robotics, --audience owner; --author takes a node key or a member's\n"
     "name from the node's configuration. --all follows next_cursor through every page.\n"},
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
    {"members", rk_cmd_members, "members",
     "Shows the network's members as this node computes them from its founding members and the\n"
     "membership records it holds (docs/membership.md): name, status (founding, admitted, pending,\n"
     "rotated, revoked), key, prefecture, endorsers and listen URL, then the roster digest.\n"},
    {"member", rk_cmd_member,
     "member endorse --key HEX --name NAME [--kind K] [--prefecture PP] [--municipality CODE] [--url URL]...\n"
     "       member revoke --key HEX [--reason TEXT] [--since TIME]",
     "endorse publishes this node's endorsement of a new member's key (it is admitted once the threshold\n"
     "of members, 2, have endorsed it); running it again replaces the description. revoke publishes a\n"
     "revocation: of this node's own key at once, of another key once the threshold agree; --since (RFC\n"
     "3339) invalidates what the key signed after that moment, for a key that was stolen.\n"},
    {"key", rk_cmd_key, "key rotate --out NEWKEYFILE",
     "Makes a new key in NEWKEYFILE (mode 0600) and publishes the rotation of this node's key to it, signed\n"
     "by the current key and countersigned by the new one (docs/membership.md). The node then refuses to\n"
     "publish until it is restarted with [node] key_file = NEWKEYFILE; what the old key signed stays valid.\n"},
    {"web", rk_cmd_web, "web",
     "Prints a one-time login URL for the web page on the node's TCP listener ([api] tcp); open it in a\n"
     "browser on the node's machine or through an SSH tunnel (docs/operator-guide.md). It works once,\n"
     "within 10 minutes, and needs the right to publish.\n"},
    {"import", rk_cmd_import, "import [--skip-bad] [--dry-run] FILE.csv",
     "Publishes the rows of a CSV file as records (表計算から一括登録), in the columns of the CSV export\n"
     "(`renkei export --format csv`): kind, prefecture, title, summary, industry, dx_level, skills, tags,\n"
     "starts_at, ends_at, event_type, format, status, application_url; other columns named like a field\n"
     "of the record are read too, and author_node, prefecture_name, url and version are ignored. UTF-8\n"
     "with or without BOM, Shift_JIS/CP932 or UTF-16 (tab-separated) as Excel saves them. A row with an\n"
     "id updates that record, only if something changed. Every bad row is reported with its row number\n"
     "and field, and then no row is published unless --skip-bad; --dry-run checks without publishing.\n"},
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

/* The help texts in Japanese, shown instead of the English ones when the locale is Japanese. */
static const struct {
    const char *name;
    const char *text;
} help_ja[] = {
    {"keygen", "ノードの鍵（Ed25519）を FILE に権限 0600 で作り、公開鍵を16進数64文字で表示します。\n"
               "既存のファイルは上書きしません。デーモンは不要です。\n"},
    {"pubkey", "FILE の鍵の公開鍵（16進数64文字）を表示します。\n"},
    {"codes", "レコードで使えるすべてのコードを日本語ラベルつきで一覧します（業種 industry、DXの段階\n"
              "dx_level、スキル skills、対象層 audience、イベントの種類 event_type、開催形式 format、都道府県\n"
              "prefecture、公開範囲 visibility など）。TAXONOMY を省くと全部を表示します。入力ではコードの代わり\n"
              "にラベル（製造業）や都道府県名（石川県、石川）も使え、大文字小文字も問いません（AI）。保存される\n"
              "のはコードです。同じ一覧は lib/taxonomy.c と proto/renkei.proto にあります。デーモンは不要です。\n"},
    {"new", "記入用のひな形を書き出します。すべての項目と【必須】の印、使えるコードと日本語ラベルが // で\n"
            "始まる説明行に入ります（renkei publish は説明行を読み飛ばします）。--ask を付けると主な項目を\n"
            "一つずつ質問し（選択肢は番号・コード・ラベルで答えられ、答えるたびに確かめます）、レコードの\n"
            "JSON を書き出します。--out は既存のファイルを上書きしません。デーモンは不要です。\n"},
    {"verify", "署名つきレコードをオフラインで確かめます。FILE は `renkei get --signed --out FILE ID` で保存した\n"
               "バイト列です。署名が正しければ発行者、rid、種類、版、ハッシュを表示します。--hash を付けると\n"
               "ハッシュの一致も確かめます。ファイルが1バイトでも変わっていれば終了コード 1 で終わります。\n"},
    {"status", "ノードの名前、種類、鍵、レコード数、ピアの概要を表示します。\n"},
    {"peers", "ピアごとに状態、最後の同期、やり取りしたレコード数、理由別の拒否数を表示します。\n"},
    {"publish", "JSON のレコードを新しく登録します（`renkei new case` のひな形から始められます。例は\n"
                "config/samples/、項目は docs/api.md）。発行者と版はノードが入れて署名し、登録したレコードの id、\n"
                "版、ハッシュを表示します。UTF-8 の BOM と // の説明行は読み飛ばします。コードは日本語ラベル\n"
                "（製造業）で、都道府県は名前（石川県）でも書けます（一覧は renkei codes）。誤りはすべて一度に、\n"
                "項目名と修正の候補つきで表示します。\n"},
    {"update", "レコード ID の新しい版を登録します（更新できるのは登録したノードだけです）。ファイルの扱いは\n"
               "publish と同じです。\n"},
    {"delete", "レコード ID を削除します（署名つきの削除記録を登録します）。\n"},
    {"get", "レコードを出所（どのノードが署名したか）とともに表示します。--signed を付けると署名つきの\n"
            "バイト列を取得します（--out FILE へ、端末でなければ標準出力へ。renkei verify で確かめられます）。\n"
            "ID は \"<発行者の16進数>:<rid>\"、このノードのレコードなら rid だけでもかまいません。\n"},
    {"list", "現在のレコードを条件で絞って一覧します。値は renkei codes のコードかラベル: --kind case|event|region、\n"
             "--prefecture 01〜47 か都道府県名、--industry manufacturing（製造業、JSIC の記号 E も可）、\n"
             "--dx-level value_add、--skill robotics、--audience owner。--author はノードの鍵か設定にある\n"
             "メンバー名です。--all はすべてのページをたどります。\n"},
    {"search", "日本語と英語の全文検索です（q=TEXT）。list と同じ条件で絞れます。\n"},
    {"events", "期間（YYYY-MM-DD か RFC 3339）に重なるイベントを近い順に一覧します。--from を省くと今からの\n"
               "イベントです。過去のイベントには --from を指定します。\n"},
    {"export", "ノードの公開データ（Atom フィード、JSON Feed、iCalendar、CSV、Excel ブック、schema.org の\n"
               "イベント、DCAT カタログ）を標準出力か FILE に保存します。カレンダーは --from（YYYY-MM-DD）を\n"
               "指定しなければ180日前からです。--all はこれまでのすべてのイベント、またはフィードの最大のページを\n"
               "返します。\n"},
    {"stats", "レコード数を都道府県（名前つき）、種類、業種などごとに表示します。\n"},
    {"regions", "ノードが知っている地域プロファイルを表示します。\n"},
    {"members",
     "このノードが創設メンバーと手元のメンバーシップのレコードから計算したネットワークのメンバーを\n"
     "表示します（docs/membership.md）。名前、状態（創設 founding、承認済み admitted、推薦待ち pending、\n"
     "鍵を更新 rotated、失効 revoked）、鍵、都道府県、推薦者の数、待ち受け URL と、ロスターのダイジェストです。\n"},
    {"member", "endorse は新しいメンバーの鍵をこのノードの鍵で推薦します（しきい値の 2 メンバーが推薦すると\n"
               "承認されます）。もう一度実行すると説明を差し替えます。revoke は鍵の失効を公開します。自ノードの\n"
               "鍵はすぐに、他の鍵はしきい値のメンバーがそろった時点で失効します。--since（RFC 3339）を付けると、\n"
               "その時刻より後にその鍵が署名したものを無効にします（盗まれた鍵の場合）。\n"},
    {"key", "新しい鍵を NEWKEYFILE に（権限 0600 で）作り、このノードの鍵をそれに更新する記録（rotate）を、\n"
            "今の鍵の署名と新しい鍵の副署つきで公開します（docs/membership.md）。その後ノードは、設定の\n"
            "[node] key_file を NEWKEYFILE に変えて再起動するまで登録を受け付けません。旧鍵で署名した\n"
            "レコードはそのまま有効です。\n"},
    {"web", "ノードのウェブページ（[api] tcp）に入るための、一度だけ使えるログイン用URLを表示します。\n"
            "ノードのマシンのブラウザか SSH トンネル越しに開いてください（docs/operator-guide.md）。10分以内に\n"
            "一度だけ使え、登録する権限が必要です。\n"},
    {"import", "CSV ファイルの各行をレコードとして登録します（表計算から一括登録）。列は CSV エクスポート\n"
               "（renkei export --format csv）と同じです: kind, prefecture, title, summary, industry, dx_level,\n"
               "skills, tags, starts_at, ends_at, event_type, format, status, application_url。レコードの項目名の\n"
               "列も読み、author_node, prefecture_name, url, version は無視します。文字コードは UTF-8（BOM の有無\n"
               "は問いません）と、Excel が保存する Shift_JIS（CP932）、UTF-16（タブ区切り）。id のある行はその\n"
               "レコードを、変わったときだけ更新します。誤りのある行は行番号と列名つきで報告し、そのときは\n"
               "どの行も登録しません（--skip-bad で正しい行だけ登録）。--dry-run は確かめるだけで送信しません。\n"},
};

static void main_help(FILE *f)
{
    bool ja = rk_cli_japanese();
    if (ja)
        fprintf(f, "使い方: renkei [-s SOCKET] [--json] COMMAND [ARGS]\n\n"
                   "renkei ノードのコマンドラインクライアントです（連携: 地域の DX・リスキリングの推進担当者をつなぐ\n"
                   "分散型のネットワーク）。\n\n"
                   "オプション:\n"
                   "  -s, --socket SOCKET  ノードの API ソケット（既定: $RENKEI_SOCKET、なければ " DEFAULT_SOCKET "）\n"
                   "  --json               API の JSON をそのまま表示（スクリプト向け）\n"
                   "  -h, --help           このヘルプ。`renkei COMMAND --help` で各コマンドの説明\n"
                   "  --version            クライアントの版\n\n"
                   "コマンド（ノード不要）:\n");
    else
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
            fprintf(f, ja ? "\nコマンド（ノードと通信）:\n" : "\ncommands (talk to the node):\n");
        const char *nl = strchr(commands[i].synopsis, '\n');
        fprintf(f, "  %.*s\n", nl ? (int)(nl - commands[i].synopsis) : (int)strlen(commands[i].synopsis),
                commands[i].synopsis);
    }
    fprintf(f, ja ? "\n終了コード: 0 成功、1 失敗（API のエラー、ノードに届かない、検証の失敗）、2 使い方の誤り。\n"
                  : "\nexit status: 0 success, 1 failure (API error, unreachable node, failed verification),\n"
                    "2 usage error.\n");
}

void rk_command_help(const char *cmd)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, cmd) == 0) {
            const char *text = commands[i].help;
            for (size_t k = 0; rk_cli_japanese() && k < sizeof help_ja / sizeof help_ja[0]; k++)
                if (strcmp(help_ja[k].name, cmd) == 0)
                    text = help_ja[k].text;
            printf(rk_cli_japanese() ? "使い方: renkei [-s SOCKET] [--json] %s\n\n%s"
                                     : "usage: renkei [-s SOCKET] [--json] %s\n\n%s",
                   commands[i].synopsis, text);
            return;
        }
}

/* Stores c where its slot says; false when no slot takes it. */
static bool fill_slot(const rk_option_slot *slots, int c)
{
    for (const rk_option_slot *s = slots; s && s->c; s++)
        if (s->c == c && (s->text || s->flag)) {
            if (s->text)
                *s->text = optarg;
            else
                *s->flag = true;
            return true;
        }
    return false;
}

int rk_parse_options(rk_cli *cli, const char *cmd, int argc, char **argv, const rk_options *o)
{
    int c;
    optind = 0;
    opterr = 0; /* getopt's own message would be English: the usage error below names the option */
    while ((c = getopt_long(argc, argv, o->shortopts, o->longopts, NULL)) != -1) {
        int rc = -1;
        if (c == '?') {
            char shortopt[3] = {'-', (char)optopt, 0};
            bool is_short = optopt > 0 && optopt < 256;
            return rk_usage_error(cmd, "unknown option or missing value: %s", is_short ? shortopt : argv[optind - 1]);
        } else if (c == 'h') {
            rk_command_help(cmd);
            rc = RK_EXIT_OK;
        } else if (c == 'j')
            cli->json = true;
        else if (c == 's')
            cli->socket = optarg;
        else if (!fill_slot(o->slots, c))
            rc = o->own ? o->own(c, o->ctx) : rk_usage_error(cmd, "unknown option");
        if (rc >= 0)
            return rc;
    }
    return -1;
}

int rk_parse_help_json(rk_cli *cli, const char *cmd, int argc, char **argv, int max_args)
{
    static const struct option opts[] = {
        {"help", no_argument, NULL, 'h'}, {"json", no_argument, NULL, 'j'}, {NULL, 0, NULL, 0}};
    int rc = rk_parse_options(cli, cmd, argc, argv, &(rk_options){"h", opts, NULL, NULL, NULL});
    if (rc >= 0)
        return rc;
    if (argc - optind > max_args)
        return rk_usage_error(cmd, "unexpected argument '%s'", argv[optind + max_args]);
    return -1;
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
    opterr = 0; /* reported below, in the person's language */
    while ((c = getopt_long(argc, argv, "+s:h", opts, NULL)) != -1) {
        switch (c) {
        case 's': cli.socket = optarg; break;
        case 'j': cli.json = true; break;
        case 'h': main_help(stdout); return RK_EXIT_OK;
        case 'V': printf("renkei %s\n", RENKEI_VERSION); return RK_EXIT_OK;
        default: return rk_usage_error(NULL, "unknown option or missing value: %s", argv[optind - 1]);
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
    fprintf(stderr,
            rk_cli_japanese() ? "renkei: 「%s」というコマンドはありません\n\n" : "renkei: unknown command '%s'\n\n",
            name);
    main_help(stderr);
    return RK_EXIT_USAGE;
}
