/* codes: `renkei codes [TAXONOMY]`, every code a record may use with its Japanese label.
 *
 * Offline: the lists come from lib/taxonomy.c, the same tables the node validates with, so what is
 * printed is exactly what is accepted. Records store and exports show the code; the label (and, for
 * prefectures, the name) is also accepted as input.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "codes_json.h"
#include "taxonomy.h"

static int print_taxonomy(const rk_taxonomy *t, bool ja)
{
    printf("%s  %s (%s)\n", t->name, ja ? t->title_ja : t->title_en, ja ? t->title_en : t->title_ja);
    static const char *const headers[] = {"コード code", "日本語 label"};
    static const char *const industry_headers[] = {"コード code", "日本語 label", "JSIC"};
    bool industry = t->desc == &renkei__industry__descriptor;
    rk_table *tab = rk_table_new(industry ? 3 : 2, industry ? industry_headers : headers);
    if (!tab)
        return -1;
    int rc = 0;
    if (!t->desc) {
        for (int n = 1; rc == 0 && n <= 47; n++) {
            const char *code = rk_prefecture_code(n);
            const char *cells[] = {code, rk_prefecture_name(code)};
            rc = rk_table_add(tab, cells);
        }
    } else {
        for (unsigned i = 0; rc == 0 && i < t->desc->n_values; i++) {
            int v = t->desc->values[i].value;
            const char *code = rk_taxonomy_code(t->desc, v);
            if (!code)
                continue;
            char letter[2] = {(char)('A' + v - RENKEI__INDUSTRY__INDUSTRY_AGRICULTURE_FORESTRY), '\0'};
            const char *cells[] = {code, rk_label_ja(t->desc, v), letter};
            rc = rk_table_add(tab, cells);
        }
    }
    if (rc == 0)
        rk_table_print(tab);
    rk_table_free(tab);
    return rc;
}

int rk_cmd_codes(rk_cli *cli, int argc, char **argv)
{
    int rc = rk_parse_help_json(cli, "codes", argc, argv, 1);
    if (rc >= 0)
        return rc;
    size_t n;
    const rk_taxonomy *all = rk_taxonomy_list(&n);
    const rk_taxonomy *one = NULL;
    if (optind < argc) {
        one = rk_taxonomy_find(argv[optind]);
        if (!one) {
            /* the nearest name, then every name: the list is short */
            const char *near = NULL;
            int best = 3;
            for (size_t i = 0; i < n; i++) {
                int d = rk_edit_distance(argv[optind], all[i].name);
                if (d >= 0 && d < best) {
                    best = d;
                    near = all[i].name;
                }
            }
            bool ja = rk_cli_japanese();
            fprintf(stderr,
                    ja ? "renkei codes: 「%s」という分類はありません%s%s%s\n"
                       : "renkei codes: no taxonomy named '%s'%s%s%s\n",
                    argv[optind], near ? (ja ? "。もしかして " : "; did you mean ") : "", near ? near : "",
                    near ? (ja ? "？" : "?") : "");
            fprintf(stderr, ja ? "分類:" : "taxonomies:");
            for (size_t i = 0; i < n; i++)
                fprintf(stderr, " %s", all[i].name);
            fputc('\n', stderr);
            return RK_EXIT_USAGE;
        }
    }
    if (cli->json)
        return rk_print_json_owned(rk_codes_to_json(one));
    bool ja = rk_cli_japanese();
    for (size_t i = 0; i < n; i++) {
        if (one && one != &all[i])
            continue;
        if (!one && i)
            putchar('\n');
        if (print_taxonomy(&all[i], ja) != 0) {
            fprintf(stderr, "renkei: out of memory\n");
            return RK_EXIT_FAIL;
        }
    }
    if (!one)
        printf(ja ? "\n入力には日本語のラベル（製造業）や都道府県名（石川県、石川）も使えます。保存されるのはコードです"
                    "。\n"
                  : "\nInput may also use the Japanese label (製造業) or the prefecture's name (石川県, 石川); the "
                    "record stores the code.\n");
    return RK_EXIT_OK;
}
