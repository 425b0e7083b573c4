/* charter: the Charter message and its digest (see charter.h). The digest sorts a copy of the keys,
 * so the order in which a configuration lists its members never matters. */
#include "charter.h"

#include <stdlib.h>
#include <string.h>

#include "renkei.pb-c.h"
#include "taxonomy.h"
#include "text.h"

static int key_cmp(const void *a, const void *b)
{
    return memcmp(a, b, RK_KEY_LEN);
}

int rk_charter_digest(const rk_charter *c, uint8_t out[RK_HASH_LEN])
{
    static const char label[] = "renkei-charter-v1";
    size_t n = c->founding_count;
    size_t len = sizeof label + 16 + n * RK_KEY_LEN;
    uint8_t *buf = malloc(len);
    if (!buf)
        return -1;
    memcpy(buf, label, sizeof label); /* with its NUL */
    rk_put_be64(buf + sizeof label, c->threshold);
    rk_put_be64(buf + sizeof label + 8, n);
    uint8_t *keys = buf + sizeof label + 16;
    for (size_t i = 0; i < n; i++)
        memcpy(keys + i * RK_KEY_LEN, c->founding[i].key, RK_KEY_LEN);
    if (n)
        qsort(keys, n, RK_KEY_LEN, key_cmp);
    rk_sha256(buf, len, out);
    free(buf);
    return 0;
}

int rk_charter_pack(const rk_charter *c, uint8_t **out, size_t *len)
{
    *out = NULL;
    Renkei__CharterMember *ms = calloc(c->founding_count ? c->founding_count : 1, sizeof *ms);
    Renkei__CharterMember **ps = calloc(c->founding_count ? c->founding_count : 1, sizeof *ps);
    if (!ms || !ps) {
        free(ms);
        free(ps);
        return -1;
    }
    for (size_t i = 0; i < c->founding_count; i++) {
        const rk_charter_member *f = &c->founding[i];
        renkei__charter_member__init(&ms[i]);
        ms[i].key.data = (uint8_t *)f->key;
        ms[i].key.len = RK_KEY_LEN;
        ms[i].name = (char *)(f->name ? f->name : "");
        ms[i].node_kind = f->node_kind;
        ms[i].prefecture = (char *)(f->prefecture ? f->prefecture : "");
        ps[i] = &ms[i];
    }
    Renkei__Charter m = RENKEI__CHARTER__INIT;
    m.threshold = c->threshold;
    m.n_founding = c->founding_count;
    m.founding = ps;
    *len = renkei__charter__get_packed_size(&m);
    *out = malloc(*len ? *len : 1);
    if (*out)
        renkei__charter__pack(&m, *out);
    free(ms);
    free(ps);
    return *out ? 0 : -1;
}

static int copy_member(const rk_charter_member *src, rk_charter_member *dst)
{
    memcpy(dst->key, src->key, RK_KEY_LEN);
    dst->node_kind = src->node_kind;
    dst->name = strdup(src->name ? src->name : "");
    dst->prefecture = src->prefecture && src->prefecture[0] ? strdup(src->prefecture) : NULL;
    return dst->name && (dst->prefecture || !src->prefecture || !src->prefecture[0]) ? 0 : -1;
}

int rk_charter_copy(const rk_charter *src, rk_charter *out)
{
    memset(out, 0, sizeof *out);
    rk_charter_member *ms = calloc(src->founding_count ? src->founding_count : 1, sizeof *ms);
    if (!ms)
        return -1;
    out->threshold = src->threshold;
    out->founding = ms;
    for (size_t i = 0; i < src->founding_count; i++) {
        out->founding_count = i + 1;
        if (copy_member(&src->founding[i], &ms[i]) != 0) {
            rk_charter_free_owned(out);
            return -1;
        }
    }
    return 0;
}

void rk_charter_free_owned(rk_charter *c)
{
    rk_charter_member *ms = (rk_charter_member *)c->founding;
    for (size_t i = 0; ms && i < c->founding_count; i++) {
        free((char *)ms[i].name);
        free((char *)ms[i].prefecture);
    }
    free(ms);
    memset(c, 0, sizeof *c);
}

/* Why a decoded charter cannot be used, or NULL. */
static const char *charter_problem(const Renkei__Charter *m)
{
    if (m->threshold < 1)
        return "the threshold must be at least 1";
    if (m->n_founding == 0 || m->n_founding > RK_CHARTER_MAX_FOUNDING)
        return "a charter names 1 to 10000 founding members";
    for (size_t i = 0; i < m->n_founding; i++) {
        const Renkei__CharterMember *f = m->founding[i];
        if (f->key.len != RK_KEY_LEN)
            return "a founding key is not 32 bytes";
        if (!rk_text_valid_utf8(f->name, strlen(f->name)) || strlen(f->name) > 200)
            return "a founding member's name is not UTF-8 of at most 200 bytes";
        if (f->prefecture[0] && !rk_prefecture_valid(f->prefecture))
            return "a founding member's prefecture is not a JIS X 0401 code";
        for (size_t j = 0; j < i; j++)
            if (memcmp(m->founding[j]->key.data, f->key.data, RK_KEY_LEN) == 0)
                return "a founding key appears twice";
    }
    return NULL;
}

int rk_charter_unpack(const uint8_t *buf, size_t len, rk_charter *out, rk_error *err)
{
    memset(out, 0, sizeof *out);
    Renkei__Charter *m = renkei__charter__unpack(NULL, len, buf);
    if (!m)
        return rk_fail(err, "malformed", "charter", "the charter does not decode");
    const char *why = charter_problem(m);
    if (why) {
        renkei__charter__free_unpacked(m, NULL);
        return rk_fail(err, "bad_charter", "charter", "%s", why);
    }
    rk_charter_member *view = calloc(m->n_founding, sizeof *view);
    int rc = -1;
    if (view) {
        for (size_t i = 0; i < m->n_founding; i++) {
            memcpy(view[i].key, m->founding[i]->key.data, RK_KEY_LEN);
            view[i].name = m->founding[i]->name;
            view[i].node_kind = m->founding[i]->node_kind;
            view[i].prefecture = m->founding[i]->prefecture;
        }
        rk_charter c = {.threshold = m->threshold, .founding = view, .founding_count = m->n_founding};
        rc = rk_charter_copy(&c, out);
    }
    free(view);
    renkei__charter__free_unpacked(m, NULL);
    return rc == 0 ? 0 : rk_fail(err, "no_memory", "charter", "out of memory");
}

/* nonce || charter: what the listener signs. */
static uint8_t *signed_bytes(const uint8_t nonce[32], const uint8_t *charter, size_t len)
{
    uint8_t *b = malloc(32 + len);
    if (b) {
        memcpy(b, nonce, 32);
        if (len)
            memcpy(b + 32, charter, len);
    }
    return b;
}

int rk_charter_sign(const rk_key *key, const uint8_t nonce[32], const uint8_t *charter, size_t len,
                    uint8_t sig[RK_SIG_LEN])
{
    uint8_t *b = signed_bytes(nonce, charter, len);
    int rc = b ? rk_sign(key, RK_SIGN_DOMAIN_CHARTER, b, 32 + len, sig) : -1;
    free(b);
    return rc == 0 ? 0 : -1;
}

bool rk_charter_verify(const uint8_t pub[RK_KEY_LEN], const uint8_t nonce[32], const uint8_t *charter, size_t len,
                       const uint8_t sig[RK_SIG_LEN])
{
    uint8_t *b = signed_bytes(nonce, charter, len);
    bool ok = b && rk_verify(pub, RK_SIGN_DOMAIN_CHARTER, b, 32 + len, sig);
    free(b);
    return ok;
}
