/* charter_store: the node's charter (see charter_store.h). The file holds the packed Charter message
 * exactly as the bootstrap peer signed it; it is written with glib's consistent and durable
 * replace (a temporary file, fsync, rename), so a crash leaves either no charter or the whole one,
 * and read back with the tree's one bounded whole-file reader (rk_read_path). */
#include "charter_store.h"

#include <errno.h>
#include <glib.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "grow.h"
#include "log.h"
#include "query.h"
#include "renkei.pb-c.h"

#define CHARTER_FILE "charter"
#define CHARTER_FILE_MAX (4u << 20)

struct rk_charter_store {
    uv_mutex_t mu;
    bool have;
    bool joining;
    rk_charter charter; /* owned (rk_charter_free_owned) */
    uint8_t digest[RK_HASH_LEN];
    char *path;
};

static int store_adopt(rk_charter_store *s, const rk_charter *c)
{
    rk_charter copy;
    if (rk_charter_copy(c, &copy) != 0)
        return -1;
    if (rk_charter_digest(&copy, s->digest) != 0) {
        rk_charter_free_owned(&copy);
        return -1;
    }
    s->charter = copy;
    s->have = true;
    return 0;
}

/* Rotations stored here (old key, new key), to map a configured key back to the founding key it
 * succeeds. */
typedef struct rotations {
    uint8_t (*pairs)[2][RK_KEY_LEN];
    size_t n, cap;
    bool oom;
} rotations;

static int rotation_one(const rk_record *rec, void *ctx)
{
    rotations *r = ctx;
    const Renkei__Record *m = rec->msg;
    if (m->kind != RENKEI__KIND__KIND_ROTATE || !m->rotate || m->rotate->new_key.len != RK_KEY_LEN ||
        m->author.len != RK_KEY_LEN)
        return 0;
    void *p = rk_grow(r->pairs, &r->cap, r->n + 1, sizeof *r->pairs);
    if (!p) {
        r->oom = true;
        return 1;
    }
    r->pairs = p;
    memcpy(r->pairs[r->n][0], m->author.data, RK_KEY_LEN);
    memcpy(r->pairs[r->n][1], m->rotate->new_key.data, RK_KEY_LEN);
    r->n++;
    return 0;
}

/* Replaces key by the key it was rotated from, as long as a stored rotation says so: a founding
 * member that moved to a new key (and a node that now names it by that key) keeps the charter it
 * founded. At most one step per rotation, so a cycle cannot loop. */
static void map_to_founding(const rotations *r, uint8_t key[RK_KEY_LEN])
{
    for (size_t steps = 0; steps < r->n; steps++) {
        size_t i = 0;
        while (i < r->n && memcmp(r->pairs[i][1], key, RK_KEY_LEN) != 0)
            i++;
        if (i == r->n)
            return;
        memcpy(key, r->pairs[i][0], RK_KEY_LEN);
    }
}

static int read_rotations(const rk_node *n, rotations *r, rk_error *err)
{
    rk_txn *t;
    if (rk_txn_begin(n->store, false, &t, err) != 0)
        return -1;
    rk_query q = {.kind = RENKEI__KIND__KIND_ROTATE, .max_visibility = RENKEI__VISIBILITY__VISIBILITY_PUBLIC};
    char next[RK_CURSOR_MAX];
    int rc = rk_store_query(t, &q, rotation_one, r, next, err);
    rk_txn_abort(t);
    if (r->oom)
        rc = rk_fail(err, "no_memory", "", "out of memory");
    return rc;
}

/* The founding charter from the configuration: the same members rk_node's roster holds, each key
 * mapped back through the rotations in the store to the key that founded the network. */
static int store_found(rk_charter_store *s, const rk_node *n, rk_error *err)
{
    rotations r = {0};
    if (read_rotations(n, &r, err) != 0) {
        free(r.pairs);
        return -1;
    }
    rk_charter_member *ms = calloc(n->roster.count ? n->roster.count : 1, sizeof *ms);
    if (!ms) {
        free(r.pairs);
        return rk_fail(err, "no_memory", "", "out of memory");
    }
    size_t k = 0;
    for (size_t i = 0; i < n->roster.count; i++) {
        const rk_member *m = &n->roster.members[i];
        memcpy(ms[k].key, m->key, RK_KEY_LEN);
        map_to_founding(&r, ms[k].key);
        bool twice = false; /* a configuration naming both a key and its successor */
        for (size_t j = 0; j < k && !twice; j++)
            twice = memcmp(ms[j].key, ms[k].key, RK_KEY_LEN) == 0;
        if (twice)
            continue;
        ms[k].name = m->is_self ? n->cfg->name : m->name;
        ms[k].node_kind = m->is_self ? n->cfg->kind : 0;
        ms[k].prefecture = m->is_self && n->cfg->prefecture[0] ? n->cfg->prefecture : NULL;
        k++;
    }
    rk_charter c = {.threshold = n->cfg->threshold, .founding = ms, .founding_count = k};
    int rc = store_adopt(s, &c) == 0 ? 0 : rk_fail(err, "no_memory", "", "out of memory");
    free(ms);
    free(r.pairs);
    return rc;
}

static int store_load(rk_charter_store *s, rk_error *err)
{
    rk_buf text;
    rk_buf_init(&text);
    rk_charter c;
    int rc = 0;
    errno = 0;
    if (rk_read_path(s->path, CHARTER_FILE_MAX, &text) != 0) {
        /* no file: this node has not joined yet, and its first peer will hand it the charter */
        if (errno == EFBIG)
            rc = rk_fail(err, "charter", "node.data_dir", "%s is larger than %u bytes", s->path, CHARTER_FILE_MAX);
        else if (errno != ENOENT)
            rc = rk_fail(err, "charter", "node.data_dir", "cannot read %s: %s", s->path, strerror(errno));
    } else if (rk_charter_unpack((const uint8_t *)text.data, text.len, &c, err) != 0)
        rc = rk_fail(err, "charter", "node.data_dir", "%s: %s", s->path, err->message);
    else {
        s->charter = c;
        s->have = rk_charter_digest(&s->charter, s->digest) == 0;
        if (!s->have)
            rc = rk_fail(err, "no_memory", "", "out of memory");
    }
    rk_buf_free(&text);
    return rc;
}

int rk_charter_store_open(const rk_node *n, rk_charter_store **out, rk_error *err)
{
    *out = NULL;
    rk_charter_store *s = calloc(1, sizeof *s);
    if (!s)
        return rk_fail(err, "no_memory", "", "out of memory");
    if (uv_mutex_init(&s->mu) != 0) {
        free(s);
        return rk_fail(err, "no_memory", "", "cannot create a mutex");
    }
    s->joining = n->cfg->join;
    s->path = g_build_filename(n->cfg->data_dir, CHARTER_FILE, NULL);
    int rc = s->joining ? store_load(s, err) : store_found(s, n, err);
    if (rc != 0) {
        rk_charter_store_close(s);
        return -1;
    }
    if (s->have) {
        char hex[2 * RK_HASH_LEN + 1];
        rk_hex_encode(s->digest, RK_HASH_LEN, hex);
        rk_info("members", "charter %s: %zu founding members, threshold %u%s", hex, s->charter.founding_count,
                s->charter.threshold, s->joining ? " (learned when this node joined)" : "");
    } else {
        rk_info("members", "joining: the charter will be learned from a configured peer");
    }
    *out = s;
    return 0;
}

void rk_charter_store_close(rk_charter_store *s)
{
    if (!s)
        return;
    rk_charter_free_owned(&s->charter);
    g_free(s->path);
    uv_mutex_destroy(&s->mu);
    free(s);
}

bool rk_charter_store_get(rk_charter_store *s, rk_charter *c, uint8_t digest[RK_HASH_LEN])
{
    uv_mutex_lock(&s->mu);
    bool have = s->have;
    if (have) {
        *c = s->charter;
        if (digest)
            memcpy(digest, s->digest, RK_HASH_LEN);
    } else {
        *c = (rk_charter){.threshold = RK_MEMBERSHIP_DEFAULT_THRESHOLD};
        if (digest)
            memset(digest, 0, RK_HASH_LEN);
    }
    uv_mutex_unlock(&s->mu);
    return have;
}

int rk_charter_store_packed(rk_charter_store *s, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    rk_charter c;
    if (!rk_charter_store_get(s, &c, NULL))
        return 0;
    return rk_charter_pack(&c, out, len);
}

bool rk_charter_store_wants(rk_charter_store *s)
{
    uv_mutex_lock(&s->mu);
    bool wants = s->joining && !s->have;
    uv_mutex_unlock(&s->mu);
    return wants;
}

int rk_charter_store_learn(rk_charter_store *s, const rk_charter *c, rk_error *err)
{
    uint8_t *packed;
    size_t len;
    if (rk_charter_pack(c, &packed, &len) != 0)
        return rk_fail(err, "no_memory", "", "out of memory");
    uv_mutex_lock(&s->mu);
    int rc = 0;
    if (!s->joining || s->have) {
        rc = 0;
    } else {
        GError *ge = NULL;
        if (!g_file_set_contents_full(s->path, (const gchar *)packed, (gssize)len,
                                      G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0600, &ge)) {
            rc = rk_fail(err, "charter", "node.data_dir", "cannot write %s: %s", s->path, ge->message);
            g_error_free(ge);
        } else if (store_adopt(s, c) != 0) {
            rc = rk_fail(err, "no_memory", "", "out of memory");
        } else {
            rc = 1;
        }
    }
    uv_mutex_unlock(&s->mu);
    free(packed);
    return rc;
}
