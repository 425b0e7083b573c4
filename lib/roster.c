/* roster: a small array of members; lookups are linear because rosters hold tens of members. */
#include "roster.h"

#include <stdlib.h>
#include <string.h>

int rk_roster_add(rk_roster *r, const char *name, const uint8_t key[RK_KEY_LEN], const char *url, bool is_self)
{
    if (rk_roster_find(r, key))
        return -1;
    rk_member *m = realloc(r->members, (r->count + 1) * sizeof *m);
    if (!m)
        return -1;
    r->members = m;
    rk_member *nm = &m[r->count];
    memset(nm, 0, sizeof *nm);
    nm->name = strdup(name ? name : "");
    nm->url = url ? strdup(url) : NULL;
    if (!nm->name || (url && !nm->url)) {
        free(nm->name);
        free(nm->url);
        return -1;
    }
    memcpy(nm->key, key, RK_KEY_LEN);
    nm->is_self = is_self;
    r->count++;
    return 0;
}

const rk_member *rk_roster_find(const rk_roster *r, const uint8_t key[RK_KEY_LEN])
{
    for (size_t i = 0; i < r->count; i++)
        if (memcmp(r->members[i].key, key, RK_KEY_LEN) == 0)
            return &r->members[i];
    return NULL;
}

void rk_roster_free(rk_roster *r)
{
    for (size_t i = 0; i < r->count; i++) {
        free(r->members[i].name);
        free(r->members[i].url);
    }
    free(r->members);
    memset(r, 0, sizeof *r);
}
