/* membership_rid: the record kinds that are membership records and the rids they live at.
 *
 * A membership record's rid is derived from the key it is about ("endorse.", "rotate." or "revoke."
 * followed by the first 24 bytes of that key in hex), so one author has one endorsement, one rotation
 * and one revocation per key, and a newer version of it replaces the older. No other record may take
 * a rid of that form: a tombstone there would silently withdraw an endorsement. Sits below
 * validate.h, which enforces both rules, and knows nothing of the roster (lib/membership.h).
 */
#ifndef RENKEI_MEMBERSHIP_RID_H
#define RENKEI_MEMBERSHIP_RID_H

#include <stdbool.h>

#include "renkei.pb-c.h"

#define RK_MEMBERSHIP_RID_MAX 64
#define RK_MEMBERSHIP_RID_KEY_BYTES 24

/* True for endorse, rotate and revoke. */
bool rk_membership_rid_kind(int kind);
/* The key the record is about (endorse.key, rotate.new_key, revoke.key), or NULL if r is not a
 * membership record or that key is not 32 bytes. */
const uint8_t *rk_membership_rid_subject(const Renkei__Record *r);
/* The rid r must have; -1 when rk_membership_rid_subject is NULL. */
int rk_membership_rid(const Renkei__Record *r, char out[RK_MEMBERSHIP_RID_MAX + 1]);
/* True for rids in the namespace reserved to membership records. */
bool rk_membership_rid_reserved(const char *rid);

#endif
