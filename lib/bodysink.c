/* bodysink: an export's body on its way to the spool (the rules are in bodysink.h).
 *
 * Invariant: the body is the spool writer's bytes (flushed of them) followed by buf's; a failed sink
 * writes nothing more, so the renderer's next check stops it.
 */
#include "bodysink.h"

uint64_t rk_bodysink_len(const rk_bodysink *s)
{
    return s->flushed + s->buf->len;
}

int rk_bodysink_flush(rk_bodysink *s, size_t min)
{
    if (s->failed)
        return -1;
    if (!s->spool || s->buf->len == 0 || s->buf->len < min)
        return 0;
    if ((!s->w && !(s->w = rk_spool_begin(s->spool, s->err))) ||
        rk_spool_write(s->w, s->buf->data, s->buf->len, s->err) != 0) {
        s->failed = true;
        return -1;
    }
    s->flushed += s->buf->len;
    rk_buf_reset(s->buf);
    return 0;
}

int rk_bodysink_piece(void *sink)
{
    return rk_bodysink_flush(sink, RK_BODYSINK_PIECE);
}
