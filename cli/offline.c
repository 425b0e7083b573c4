/* offline: commands that need no daemon: keygen, pubkey, verify.
 *
 * verify is the network's offline provenance check: anyone holding the signed bytes of a
 * record (GET /v1/records/{id}?format=signed) can tell which node published it and that nothing was
 * changed. It accepts only the canonical envelope nodes serve (record bytes, then the 64-byte
 * signature, nothing else), so every byte of the file is covered: a changed byte in the record fails
 * the signature, and a changed byte in the framing either fails to decode or fails this layout check.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "record.h"
#include "sign.h"

static const struct option common_opts[] = {
    {"help", no_argument, NULL, 'h'},         {"json", no_argument, NULL, 'j'},
    {"socket", required_argument, NULL, 's'}, {"out", required_argument, NULL, 'o'},
    {"hash", required_argument, NULL, 'H'},   {NULL, 0, NULL, 0},
};

/* The options of the offline commands: -h, --json and -s as everywhere, plus --out FILE where out is
 * given and --hash HEX where hash is given; any other option is a usage error. Returns -1 to go on,
 * else the exit code (help printed, or a usage error). */
static int offline_parse(rk_cli *cli, const char *cmd, int argc, char **argv, const char **out, const char **hash)
{
    const rk_option_slot slots[] = {{'o', out, NULL}, {'H', hash, NULL}, {0, NULL, NULL}};
    return rk_parse_options(cli, cmd, argc, argv,
                            &(rk_options){out ? "+ho:s:" : "+hs:", common_opts, slots, NULL, NULL});
}

/* The public half of key in hex; frees key. */
static void public_hex(rk_key *key, char hex[2 * RK_KEY_LEN + 1])
{
    uint8_t pub[RK_KEY_LEN];
    rk_key_public(key, pub);
    rk_key_free(key);
    rk_hex_encode(pub, RK_KEY_LEN, hex);
}

int rk_cmd_keygen(rk_cli *cli, int argc, char **argv)
{
    const char *out = NULL;
    int rc = offline_parse(cli, "keygen", argc, argv, &out, NULL);
    if (rc >= 0)
        return rc;
    if (optind < argc)
        return rk_usage_error("keygen", "unexpected argument '%s'", argv[optind]);
    if (!out)
        return rk_usage_error("keygen", "--out FILE is required");
    rk_key *key = NULL;
    rk_error err = {0};
    if (rk_key_generate(&key, &err) != 0) {
        fprintf(stderr, "renkei: cannot generate a key: %s\n", err.message);
        return RK_EXIT_FAIL;
    }
    if (rk_key_save(key, out, &err) != 0) {
        fprintf(stderr, "renkei: %s (%s)\n", err.message, err.code);
        rk_key_free(key);
        return RK_EXIT_FAIL;
    }
    char hex[2 * RK_KEY_LEN + 1];
    public_hex(key, hex);
    if (cli->json) {
        return rk_print_json_owned(json_pack("{s:s, s:s}", "key", hex, "file", out));
    }
    printf("%s\n", hex);
    fprintf(stderr, "renkei: wrote the private key to %s (mode 0600); the line above is its public key\n", out);
    return RK_EXIT_OK;
}

int rk_cmd_pubkey(rk_cli *cli, int argc, char **argv)
{
    int rc = offline_parse(cli, "pubkey", argc, argv, NULL, NULL);
    if (rc >= 0)
        return rc;
    if (argc - optind != 1)
        return rk_usage_error("pubkey", "expected one key FILE");
    rk_key *key = NULL;
    rk_error err = {0};
    if (rk_key_load(argv[optind], &key, &err) != 0) {
        fprintf(stderr, "renkei: %s (%s)\n", err.message, err.code);
        return RK_EXIT_FAIL;
    }
    char hex[2 * RK_KEY_LEN + 1];
    public_hex(key, hex);
    if (cli->json)
        printf("{\"key\": \"%s\"}\n", hex);
    else
        printf("%s\n", hex);
    return RK_EXIT_OK;
}

int rk_read_file(const char *path, rk_buf *buf)
{
    bool is_stdin = strcmp(path, "-") == 0;
    errno = 0;
    if ((is_stdin ? rk_read_stream(stdin, 0, buf) : rk_read_path(path, 0, buf)) != 0) {
        fprintf(stderr, "renkei: cannot read %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

int rk_cmd_verify(rk_cli *cli, int argc, char **argv)
{
    const char *want_hash = NULL;
    int parsed = offline_parse(cli, "verify", argc, argv, NULL, &want_hash);
    if (parsed >= 0)
        return parsed;
    if (argc - optind != 1)
        return rk_usage_error("verify", "expected one FILE with the signed record bytes");
    const char *path = argv[optind];
    uint8_t want[RK_HASH_LEN];
    if (want_hash && (strlen(want_hash) != 2 * RK_HASH_LEN || rk_hex_decode(want_hash, want, RK_HASH_LEN) != 0))
        return rk_usage_error("verify", "--hash needs %d hex characters", 2 * RK_HASH_LEN);

    rk_buf data;
    rk_buf_init(&data);
    if (rk_read_file(path, &data) != 0)
        return RK_EXIT_FAIL;
    rk_record rec;
    rk_error err = {0};
    int rc = RK_EXIT_FAIL;
    /* now_ms = 0: a saved record is checked long after it was made, so the clock is irrelevant. */
    if (rk_record_parse((const uint8_t *)data.data, data.len, NULL, 0, &rec, &err) != 0) {
        fprintf(stderr, "renkei: %s: not a valid signed record: %s (%s%s%s)\n", path, err.message, err.code,
                err.field[0] ? ", field " : "", err.field);
        rk_buf_free(&data);
        return RK_EXIT_FAIL;
    }
    if (rec.env_len != data.len || memcmp(rec.env, data.data, data.len) != 0) {
        fprintf(stderr,
                "renkei: %s: FAILED: the envelope is not in the canonical layout (extra or reordered "
                "fields), so it is not the record as a node serves it\n",
                path);
        goto out;
    }
    if (!rk_record_signature_ok(&rec)) {
        fprintf(stderr, "renkei: %s: FAILED: the signature does not match the record and its author\n", path);
        goto out;
    }
    char hash_hex[2 * RK_HASH_LEN + 1];
    rk_hex_encode(rec.hash, RK_HASH_LEN, hash_hex);
    if (want_hash && memcmp(want, rec.hash, RK_HASH_LEN) != 0) {
        fprintf(stderr, "renkei: %s: FAILED: the record's hash is %s, not the expected %s\n", path, hash_hex,
                want_hash);
        goto out;
    }
    char author[2 * RK_KEY_LEN + 1];
    rk_hex_encode(rec.msg->author.data, RK_KEY_LEN, author);
    char id[RK_ID_MAX];
    rk_record_id(rec.msg->author.data, rec.msg->rid, id);
    if (cli->json) {
        json_t *j =
            json_pack("{s:b, s:s, s:s, s:s, s:s, s:I, s:s}", "ok", 1, "id", id, "author", author, "rid", rec.msg->rid,
                      "kind", rk_kind_name(rec.msg->kind), "version", (json_int_t)rec.msg->version, "hash", hash_hex);
        if (rk_print_json_owned(j) != RK_EXIT_OK)
            goto out;
    } else {
        printf("signature OK%s\n", want_hash ? ", hash matches" : "");
        printf("author   %s\n", author);
        printf("rid      %s\n", rec.msg->rid);
        printf("id       %s\n", id);
        printf("kind     %s\n", rk_kind_name(rec.msg->kind));
        printf("version  %llu\n", (unsigned long long)rec.msg->version);
        printf("hash     %s\n", hash_hex);
    }
    rc = RK_EXIT_OK;
out:
    rk_record_free(&rec);
    rk_buf_free(&data);
    return rc;
}
