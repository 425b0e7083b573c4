/* bodysink: where an export's body is rendered (lib/export.c): a buffer that, with a spool, is moved
 * to a spool file whenever it holds a piece, so rendering holds one piece in memory however large the
 * body grows. Without a spool everything stays in the buffer.
 */
#ifndef RENKEI_BODYSINK_H
#define RENKEI_BODYSINK_H

#include "spool.h"

/* The size of the pieces moved to the spool while rendering. */
#define RK_BODYSINK_PIECE (256u << 10)

typedef struct rk_bodysink {
    rk_buf *buf;
    rk_spool *spool; /* NULL: everything stays in buf */
    rk_spool_writer *w;
    uint64_t flushed; /* bytes already in w */
    rk_error *err;
    bool failed; /* the spool refused or failed: err says why */
} rk_bodysink;

/* The body's length so far, in the spool and in buf. */
uint64_t rk_bodysink_len(const rk_bodysink *s);
/* Moves buf to the spool once it holds at least min bytes (0: whatever it holds): 0, or -1 once the
 * spool refused or failed (failed, and err says why). */
int rk_bodysink_flush(rk_bodysink *s, size_t min);
/* rk_bodysink_flush of a full piece, in the form the renderers take as their flush callback. */
int rk_bodysink_piece(void *sink);

#endif
