/* gossip: placeholder until the NNG peer transport lands; a node without federation has no peers. */
#include "gossip.h"

#include <stddef.h>

int rk_gossip_start(struct rk_node *node, rk_gossip **out, rk_error *err)
{
    (void)node;
    (void)err;
    *out = NULL;
    return 0;
}

void rk_gossip_stop(rk_gossip *g) { (void)g; }

json_t *rk_gossip_peers_json(rk_gossip *g)
{
    (void)g;
    return json_array();
}

json_t *rk_gossip_summary_json(rk_gossip *g)
{
    (void)g;
    return json_pack("{s:i,s:i}", "peers", 0, "connected", 0);
}
