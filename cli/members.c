/* members: `renkei members` (the roster as the node computes it, GET /v1/members) and
 * `renkei member endorse|revoke` (publish a membership record from the node's own key). The
 * record's rid is derived from the key by the node; an endorsement already published by this node is
 * replaced with PUT, so running the command again updates the description (docs/membership.md). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "taxonomy.h"

static const char *status_ja(const char *s)
{
    static const char *const map[][2] = {{"founding", "創設"},
                                         {"admitted", "承認済み"},
                                         {"pending", "推薦待ち"},
                                         {"rotated", "鍵を更新"},
                                         {"revoked", "失効"}};
    for (size_t i = 0; s && i < sizeof map / sizeof map[0]; i++)
        if (strcmp(map[i][0], s) == 0)
            return map[i][1];
    return s ? s : "";
}

int rk_cmd_members(rk_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                         {"socket", required_argument, NULL, 's'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int rc = rk_parse_options(cli, "members", argc, argv, &(rk_options){"hs:", opts, NULL, NULL, NULL});
    if (rc >= 0)
        return rc;
    if (optind != argc)
        return rk_usage_error("members", "takes no arguments");
    json_t *j = rk_http_json(cli, "GET", "/v1/members", NULL, 0, NULL);
    if (!j)
        return RK_EXIT_FAIL;
    if (cli->json)
        return rk_print_json_owned(j);
    bool ja = rk_cli_japanese();
    static const char *const head_en[] = {"name", "status", "key", "prefecture", "endorsers", "url"};
    static const char *const head_ja[] = {"名前", "状態", "鍵", "都道府県", "推薦", "URL"};
    rk_table *t = rk_table_new(6, ja ? head_ja : head_en);
    json_t *list = json_object_get(j, "members");
    size_t i;
    json_t *m;
    rc = t ? RK_EXIT_OK : RK_EXIT_FAIL;
    json_array_foreach(list, i, m)
    {
        if (rc != RK_EXIT_OK)
            break;
        const char *status = json_string_value(json_object_get(m, "status"));
        char st[64], key[24], pref[64], endorsers[32], name[128];
        snprintf(st, sizeof st, "%s%s", ja ? status_ja(status) : (status ? status : ""),
                 json_is_true(json_object_get(m, "self")) ? (ja ? "（自ノード）" : " (self)") : "");
        snprintf(key, sizeof key, "%.16s…", json_string_value(json_object_get(m, "key")) ?: "");
        rk_prefecture_label(json_string_value(json_object_get(m, "prefecture")) ?: "", pref, sizeof pref);
        snprintf(endorsers, sizeof endorsers, "%zu", json_array_size(json_object_get(m, "endorsers")));
        rk_fit_width(json_string_value(json_object_get(m, "name")) ?: "", 24, name, sizeof name);
        const char *url = json_string_value(json_array_get(json_object_get(m, "urls"), 0));
        const char *cells[] = {name, st, key, pref, endorsers, url ? url : ""};
        if (rk_table_add(t, cells) != 0)
            rc = RK_EXIT_FAIL;
    }
    if (rc == RK_EXIT_OK) {
        rk_table_print(t);
        char digest[80];
        rk_json_scalar(json_object_get(j, "digest"), digest, sizeof digest);
        printf(ja ? "メンバー %lld（しきい値 %lld）ロスターのダイジェスト %.16s…\n"
                  : "members %lld (threshold %lld), roster digest %.16s…\n",
               (long long)json_integer_value(json_object_get(j, "count")),
               (long long)json_integer_value(json_object_get(j, "threshold")), digest);
    } else {
        fprintf(stderr, "renkei: out of memory\n");
    }
    rk_table_free(t);
    json_decref(j);
    return rc;
}

static bool key_hex_ok(const char *s)
{
    uint8_t k[RK_KEY_LEN];
    return s && strlen(s) == 2 * RK_KEY_LEN && rk_hex_decode(s, k, RK_KEY_LEN) == 0;
}

/* POST the record; when this node already published one for the key (409), PUT the new version. */
static int publish_membership(rk_cli *cli, json_t *rec, const char *kind, const char *key)
{
    char *text = json_dumps(rec, JSON_COMPACT);
    if (!text) {
        fprintf(stderr, "renkei: out of memory\n");
        return RK_EXIT_FAIL;
    }
    rk_http_response resp;
    int rc = RK_EXIT_FAIL;
    if (rk_http(cli, "POST", "/v1/records", text, strlen(text), &resp) != 0) {
        free(text);
        return RK_EXIT_FAIL;
    }
    if (resp.status == 409) {
        rk_buf_free(&resp.body);
        char path[160];
        snprintf(path, sizeof path, "/v1/records/%s.%.48s", kind, key);
        if (rk_http(cli, "PUT", path, text, strlen(text), &resp) != 0) {
            free(text);
            return RK_EXIT_FAIL;
        }
    }
    free(text);
    if (resp.status == 200 || resp.status == 201) {
        json_t *j = json_loadb(resp.body.data ? resp.body.data : "", resp.body.len, 0, NULL);
        if (cli->json && j)
            rk_print_json(j);
        else if (j)
            printf(rk_cli_japanese() ? "公開しました: %s\n" : "published %s\n",
                   json_string_value(json_object_get(j, "id")) ?: "");
        json_decref(j);
        rc = RK_EXIT_OK;
    } else {
        rk_http_report_error(cli, &resp);
    }
    rk_buf_free(&resp.body);
    return rc;
}

enum { OPT_KEY = 256, OPT_NAME, OPT_KIND, OPT_PREF, OPT_MUNI, OPT_URL, OPT_REASON, OPT_SINCE };

/* --url, the one option that may be given more than once: each is appended to the array ctx. */
static int member_url(int c, void *ctx)
{
    if (c != OPT_URL)
        return rk_usage_error("member", "unknown option");
    return json_array_append_new(ctx, json_string(optarg)) != 0 ? RK_EXIT_FAIL : -1;
}

int rk_cmd_member(rk_cli *cli, int argc, char **argv)
{
    if (argc < 2 || (strcmp(argv[1], "endorse") != 0 && strcmp(argv[1], "revoke") != 0)) {
        if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
            rk_command_help("member");
            return RK_EXIT_OK;
        }
        return rk_usage_error("member", "give endorse or revoke");
    }
    bool endorse = strcmp(argv[1], "endorse") == 0;
    static const struct option opts[] = {{"key", required_argument, NULL, OPT_KEY},
                                         {"name", required_argument, NULL, OPT_NAME},
                                         {"kind", required_argument, NULL, OPT_KIND},
                                         {"prefecture", required_argument, NULL, OPT_PREF},
                                         {"municipality", required_argument, NULL, OPT_MUNI},
                                         {"url", required_argument, NULL, OPT_URL},
                                         {"reason", required_argument, NULL, OPT_REASON},
                                         {"since", required_argument, NULL, OPT_SINCE},
                                         {"json", no_argument, NULL, 'j'},
                                         {"socket", required_argument, NULL, 's'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *key = NULL, *name = NULL, *kind = NULL, *pref = NULL, *muni = NULL, *reason = NULL, *since = NULL;
    json_t *urls = json_array();
    if (!urls)
        return RK_EXIT_FAIL;
    const rk_option_slot slots[] = {{OPT_KEY, &key, NULL},     {OPT_NAME, &name, NULL}, {OPT_KIND, &kind, NULL},
                                    {OPT_PREF, &pref, NULL},   {OPT_MUNI, &muni, NULL}, {OPT_REASON, &reason, NULL},
                                    {OPT_SINCE, &since, NULL}, {0, NULL, NULL}};
    int rc = rk_parse_options(cli, "member", argc - 1, argv + 1, &(rk_options){"hs:", opts, slots, member_url, urls});
    if (rc < 0 && !key_hex_ok(key))
        rc = rk_usage_error("member", "--key needs the member's public key, 64 hex digits");
    else if (rc < 0 && endorse && (!name || !*name))
        rc = rk_usage_error("member", "endorse needs --name");
    else if (rc < 0 && endorse && (reason || since))
        rc = rk_usage_error("member", "--reason and --since are for revoke");
    else if (rc < 0 && !endorse && (name || kind || pref || muni || json_array_size(urls)))
        rc = rk_usage_error("member", "--name, --kind, --prefecture, --municipality and --url are for endorse");
    long long since_ms = 0;
    if (rc < 0 && since) {
        int64_t epoch;
        int off;
        if (rk_parse_rfc3339(since, &epoch, &off) != 0)
            rc = rk_usage_error("member", "--since needs an RFC 3339 time, e.g. 2026-11-30T09:00:00+09:00");
        since_ms = (long long)epoch * 1000;
    }
    if (rc >= 0) {
        json_decref(urls);
        return rc;
    }
    json_t *body = endorse ? json_pack("{s:s, s:s, s:s?, s:s?, s:s?, s:O}", "key", key, "name", name, "node_kind", kind,
                                       "prefecture", pref, "municipality", muni, "urls", urls)
                           : json_pack("{s:s, s:s?}", "key", key, "reason", reason);
    if (body && since_ms && json_object_set_new(body, "since", json_integer(since_ms)) != 0) {
        json_decref(body);
        body = NULL;
    }
    json_decref(urls);
    json_t *rec =
        body ? json_pack("{s:s, s:o}", "kind", endorse ? "endorse" : "revoke", endorse ? "endorse" : "revoke", body)
             : NULL;
    if (!rec) {
        fprintf(stderr, "renkei: out of memory\n");
        return RK_EXIT_FAIL;
    }
    rc = publish_membership(cli, rec, endorse ? "endorse" : "revoke", key);
    json_decref(rec);
    return rc;
}
