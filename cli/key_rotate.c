/* key_rotate: `renkei key rotate --out NEWKEYFILE` (docs/membership.md, "Rotate a key").
 *
 * Makes a new key (written 0600, never over an existing file), countersigns the rotation with it
 * (the new key's consent: "renkei-rotate-v1\0" || old key || new key), and has the daemon publish the
 * rotation signed by the node's current key. The daemon does not switch keys by itself: from then on
 * it refuses to publish (rotated_key) until it is restarted with [node] key_file set to the new file,
 * which this command tells the operator. The new key is written before anything is published, so a
 * published rotation never points to a key that was lost.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "membership.h"

/* The node's current public key, from GET /v1/status. */
static int node_key(rk_cli *cli, uint8_t out[RK_KEY_LEN])
{
    json_t *st = rk_http_json(cli, "GET", "/v1/status", NULL, 0, NULL);
    if (!st)
        return -1;
    const char *hex = json_string_value(json_object_get(st, "key"));
    int rc = hex && strlen(hex) == 2 * RK_KEY_LEN && rk_hex_decode(hex, out, RK_KEY_LEN) == 0 ? 0 : -1;
    if (rc != 0)
        fprintf(stderr, "renkei: the node's status does not give its key\n");
    json_decref(st);
    return rc;
}

/* The rotate record: new_key and the new key's countersignature, both hex. */
static char *rotation_json(const rk_key *new_key, const uint8_t old_pub[RK_KEY_LEN], const uint8_t new_pub[RK_KEY_LEN])
{
    uint8_t msg[2 * RK_KEY_LEN], sig[RK_SIG_LEN];
    rk_membership_rotation_message(old_pub, new_pub, msg);
    if (rk_sign(new_key, RK_SIGN_DOMAIN_ROTATE, msg, sizeof msg, sig) != 0)
        return NULL;
    char new_hex[2 * RK_KEY_LEN + 1], sig_hex[2 * RK_SIG_LEN + 1];
    rk_hex_encode(new_pub, RK_KEY_LEN, new_hex);
    rk_hex_encode(sig, RK_SIG_LEN, sig_hex);
    json_t *rec =
        json_pack("{s:s, s:{s:s, s:s}}", "kind", "rotate", "rotate", "new_key", new_hex, "countersignature", sig_hex);
    char *text = rec ? json_dumps(rec, JSON_COMPACT) : NULL;
    json_decref(rec);
    return text;
}

static void tell_operator(const char *out, const char *old_hex, const char *new_hex)
{
    if (rk_cli_japanese())
        printf(
            "新しい鍵を %s に作り（権限 0600）、鍵の更新（rotate）を公開しました。\n"
            "  旧鍵 %.16s… → 新鍵 %.16s…\n"
            "このノードは旧鍵ではもう登録できません。設定ファイルの [node] key_file を %s に変えて、\n"
            "renkeid を再起動してください。旧鍵で署名したレコードはそのまま有効で、renkei verify で確かめられます。\n",
            out, old_hex, new_hex, out);
    else
        printf("wrote a new key to %s (mode 0600) and published the rotation (rotate)\n"
               "  old key %.16s… -> new key %.16s…\n"
               "This node can no longer publish with the old key: set [node] key_file to %s in its\n"
               "configuration and restart renkeid. Records the old key signed stay valid; renkei verify checks "
               "them.\n",
               out, old_hex, new_hex, out);
}

int rk_cmd_key(rk_cli *cli, int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "rotate") != 0) {
        if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
            rk_command_help("key");
            return RK_EXIT_OK;
        }
        return rk_usage_error("key", "give rotate");
    }
    static const struct option opts[] = {{"out", required_argument, NULL, 'o'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"socket", required_argument, NULL, 's'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *out = NULL;
    const rk_option_slot slots[] = {{'o', &out, NULL}, {0, NULL, NULL}};
    int rc = rk_parse_options(cli, "key", argc - 1, argv + 1, &(rk_options){"ho:s:", opts, slots, NULL, NULL});
    if (rc >= 0)
        return rc;
    if (optind != argc - 1)
        return rk_usage_error("key", "rotate takes no arguments besides --out");
    if (!out || !*out)
        return rk_usage_error("key", "rotate needs --out NEWKEYFILE");
    uint8_t old_pub[RK_KEY_LEN], new_pub[RK_KEY_LEN];
    if (node_key(cli, old_pub) != 0)
        return RK_EXIT_FAIL;
    rk_key *key = NULL;
    rk_error err = {0};
    if (rk_key_generate(&key, &err) != 0 || rk_key_save(key, out, &err) != 0) {
        fprintf(stderr, "renkei: %s (%s)\n", err.message, err.code);
        rk_key_free(key);
        return RK_EXIT_FAIL;
    }
    rk_key_public(key, new_pub);
    char *text = rotation_json(key, old_pub, new_pub);
    rk_key_free(key);
    if (!text) {
        fprintf(stderr, "renkei: cannot countersign the rotation with the new key\n");
        return RK_EXIT_FAIL;
    }
    rk_http_response resp;
    rc = RK_EXIT_FAIL;
    if (rk_http(cli, "POST", "/v1/records", text, strlen(text), &resp) == 0) {
        char old_hex[2 * RK_KEY_LEN + 1], new_hex[2 * RK_KEY_LEN + 1];
        rk_hex_encode(old_pub, RK_KEY_LEN, old_hex);
        rk_hex_encode(new_pub, RK_KEY_LEN, new_hex);
        if (resp.status == 201) {
            rc = RK_EXIT_OK; /* the rotation is published, whether or not the answer can be printed */
            if (cli->json)
                rk_print_json_owned(
                    json_pack("{s:s, s:s, s:s}", "old_key", old_hex, "new_key", new_hex, "key_file", out));
            else
                tell_operator(out, old_hex, new_hex);
        } else {
            rk_http_report_error(cli, &resp);
            fprintf(stderr,
                    rk_cli_japanese() ? "renkei: 新しい鍵は %s に書きましたが、鍵の更新は公開されていません。\n"
                                      : "renkei: the new key was written to %s, but no rotation was published.\n",
                    out);
        }
        rk_buf_free(&resp.body);
    }
    free(text);
    return rc;
}
