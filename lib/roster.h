/* roster: who is a member of the network. Built from configuration ([peer] and [member] sections)
 * plus the node itself. A record is accepted only if its author is in the roster. */
#ifndef RENKEI_ROSTER_H
#define RENKEI_ROSTER_H

#include "util.h"

typedef struct rk_member {
    char *name; /* section name, e.g. "kuwana" */
    uint8_t key[RK_KEY_LEN];
    char *url; /* where to dial it; NULL for [member] sections */
    bool is_self;
} rk_member;

typedef struct rk_roster {
    rk_member *members;
    size_t count;
} rk_roster;

/* Copies name and url. Returns -1 on allocation failure or if the key is already present. */
int rk_roster_add(rk_roster *r, const char *name, const uint8_t key[RK_KEY_LEN], const char *url, bool is_self);
const rk_member *rk_roster_find(const rk_roster *r, const uint8_t key[RK_KEY_LEN]);
void rk_roster_free(rk_roster *r);

#endif
