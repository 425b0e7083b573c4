/* api: the routes of the local API (docs/api.md) on top of the HTTP server in http.c.
 *
 * Read-only GETs (status, records, lists, events, changes without wait, exports) run on libuv's
 * thread pool, each in its own short LMDB read transaction; the loop thread sends what they
 * rendered. POSTs are decoded and signed there too; PUT and DELETE on the loop thread. Every sealed
 * record is handed to the writer by the loop thread; the response is sent from the writer's
 * completion callback, so a 201 always means the record is durable. Long-polls on /v1/changes wait
 * for the writer's commit listener or their timer, whichever comes first.
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
