/* membership_rid: kinds and rids of membership records (see the header for the rules). */
#include "membership_rid.h"

#include <stdio.h>
#include <string.h>

#include "util.h"

bool rk_membership_rid_kind(int kind)
{
    return kind == RENKEI__KIND__KIND_ENDORSE || kind == RENKEI__KIND__KIND_ROTATE || kind == RENKEI__KIND__KIND_REVOKE;
}

const uint8_t *rk_membership_rid_subject(const Renkei__Record *r)
{
    const ProtobufCBinaryData *k = NULL;
    if (r->body_case == RENKEI__RECORD__BODY_ENDORSE && r->endorse && r->kind == RENKEI__KIND__KIND_ENDORSE)
        k = &r->endorse->key;
    else if (r->body_case == RENKEI__RECORD__BODY_ROTATE && r->rotate && r->kind == RENKEI__KIND__KIND_ROTATE)
        k = &r->rotate->new_key;
    else if (r->body_case == RENKEI__RECORD__BODY_REVOKE && r->revoke && r->kind == RENKEI__KIND__KIND_REVOKE)
        k = &r->revoke->key;
    return k && k->len == RK_KEY_LEN && k->data ? k->data : NULL;
}

static const char *prefix_of(int kind)
{
    switch (kind) {
    case RENKEI__KIND__KIND_ENDORSE: return "endorse.";
    case RENKEI__KIND__KIND_ROTATE: return "rotate.";
    case RENKEI__KIND__KIND_REVOKE: return "revoke.";
    default: return NULL;
    }
}

int rk_membership_rid(const Renkei__Record *r, char out[RK_MEMBERSHIP_RID_MAX + 1])
{
    const char *prefix = prefix_of(r->kind);
    const uint8_t *key = rk_membership_rid_subject(r);
    if (!prefix || !key)
        return -1;
    char hex[2 * RK_MEMBERSHIP_RID_KEY_BYTES + 1];
    rk_hex_encode(key, RK_MEMBERSHIP_RID_KEY_BYTES, hex);
    snprintf(out, RK_MEMBERSHIP_RID_MAX + 1, "%s%s", prefix, hex);
    return 0;
}

bool rk_membership_rid_reserved(const char *rid)
{
    static const int kinds[] = {RENKEI__KIND__KIND_ENDORSE, RENKEI__KIND__KIND_ROTATE, RENKEI__KIND__KIND_REVOKE};
    for (size_t i = 0; rid && i < sizeof kinds / sizeof kinds[0]; i++) {
        const char *p = prefix_of(kinds[i]);
        if (strncmp(rid, p, strlen(p)) == 0)
            return true;
    }
    return false;
}
