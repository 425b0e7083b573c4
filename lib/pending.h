/* pending: records whose author is not (yet) a member, kept aside until the roster admits it
 * (docs/membership.md, "Records of non-members are kept aside").
 *
 * A record kept aside is not in the store's sets: it is not served, not relayed and not offered in
 * reconciliation. When the roster admits its author, ingest takes it out and runs it through the
 * usual checks (lib/ingest.c, rk_ingest_promote). Two LMDB databases hold them (docs/storage.md):
 *   aside        author || hash -> received_ms(be64) || seq(be64) || own(1) || SignedRecord
 *   aside_order  seq(be64) -> author || hash || own(1) || received_ms(be64)     arrival order
 *
 * Invariants:
 *  * A record is kept at most once (by author and hash); the two databases always list the same
 *    records.
 *  * Bounded: at most `per_author` records of one author (further ones are refused before their
 *    signature is checked) and at most `total` in all (the oldest is evicted to make room). The
 *    node's own records (own = 1: published while the node is not yet a member) count towards
 *    neither bound and are never evicted or expired, so nothing the API acknowledged is lost.
 *  * Records of other authors older than `keep_ms` are dropped by rk_pending_expire: their author
 *    was revoked, or never admitted in that time.
 */
#ifndef RENKEI_PENDING_H
#define RENKEI_PENDING_H

#include "record.h"
#include "txn.h"

typedef struct rk_pending_policy {
    uint64_t per_author; /* 0 = keep nothing aside */
    uint64_t total;
    uint64_t keep_ms;
} rk_pending_policy;

#define RK_PENDING_DEFAULT_PER_AUTHOR 1000
#define RK_PENDING_DEFAULT_TOTAL 20000
#define RK_PENDING_DEFAULT_KEEP_S (7 * 86400)

void rk_pending_policy_default(rk_pending_policy *p);

/* Whether rec could be kept aside, checked before its signature is verified: 1 room, 0 no room
 * (err: "pending_full", or "duplicate" when it is kept already), -1 store failure. */
int rk_pending_room(rk_txn *t, const rk_pending_policy *p, const rk_record *rec, bool own, rk_error *err);
/* Keeps rec aside (after rk_pending_room said 1), evicting the oldest records of other nodes beyond
 * `total`; *evicted (may be NULL) gets how many. */
int rk_pending_put(rk_txn *t, const rk_pending_policy *p, const rk_record *rec, bool own, uint64_t now_ms,
                   uint64_t *evicted, rk_error *err);

/* One kept record, as rk_pending_take returns them (oldest of each author first is not promised). */
typedef struct rk_pending_entry {
    uint8_t *env;
    size_t len;
    bool own;
} rk_pending_entry;
typedef struct rk_pending_list {
    rk_pending_entry *items;
    size_t n;
} rk_pending_list;
void rk_pending_list_free(rk_pending_list *l);

/* Calls cb once for every author with records kept aside, in key order; cb's non-zero stops. */
typedef int (*rk_pending_author_cb)(const uint8_t author[RK_KEY_LEN], void *ctx);
int rk_pending_authors(rk_txn *t, rk_pending_author_cb cb, void *ctx, rk_error *err);
/* Removes every record of author from the aside databases and returns them. */
int rk_pending_take(rk_txn *t, const uint8_t author[RK_KEY_LEN], rk_pending_list *out, rk_error *err);
/* Drops other nodes' records received more than keep_ms before now; *dropped gets how many. */
int rk_pending_expire(rk_txn *t, const rk_pending_policy *p, uint64_t now_ms, uint64_t *dropped, rk_error *err);
/* Records kept aside now (own ones included). */
int rk_pending_count(rk_txn *t, uint64_t *out, rk_error *err);

#endif
