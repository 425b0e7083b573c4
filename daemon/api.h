/* api: the routes of the local API (docs/api.md) on top of the HTTP server in http.c.
 *
 * Reads run on the loop thread inside short LMDB read transactions. Publishes are built and signed
 * here, then handed to the writer; the response is sent from the writer's completion callback, so a
 * 201 always means the record is durable. Long-polls on /v1/changes wait for the writer's commit
 * listener or their timer, whichever comes first.
 */
#ifndef RENKEI_API_H
#define RENKEI_API_H

#include "node.h"

typedef struct rk_api rk_api;

/* Opens the socket(s) from node->cfg and registers a commit listener on node->writer. */
int rk_api_start(rk_node *node, rk_api **out, rk_error *err);
/* Stops accepting, answers every waiting long-poll, lets in-flight responses finish (the loop must
 * run afterwards for the handles to close). */
void rk_api_stop(rk_api *a);
/* After rk_api_stop, once the writer has stopped (its completion callbacks refer to the API) and the
 * loop has run to completion. */
void rk_api_free(rk_api *a);

#endif
