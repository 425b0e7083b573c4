/* rtext: the readable text of a record that every export shows the same way: title (with 【中止】
 * for a cancelled event), summary, prefecture, taxonomy codes, the author's name, the labelled
 * plain-text description (日時 in Japanese at the published precision, 状態, 地域...), and the
 * UTF-8 stepping and control-character test the escapers share.
 */
#ifndef RENKEI_RTEXT_H
#define RENKEI_RTEXT_H

#include "feed_meta.h"

const char *rk_rtext_or_empty(const char *s);
int64_t rk_rtext_floor_div(int64_t a, int64_t b);
bool rk_rtext_cancelled(const Renkei__Record *r);
/* Resets b to the title a reader sees: 【中止】 first for a cancelled event, unless it says 中止. */
int rk_rtext_display_title(rk_buf *b, const Renkei__Record *r, const char *title);
const char *rk_rtext_title(const Renkei__Record *r);
const char *rk_rtext_summary(const Renkei__Record *r);
const char *rk_rtext_prefecture(const Renkei__Record *r);
void rk_rtext_skills(const Renkei__Record *r, Renkei__Skill **v, size_t *n);
void rk_rtext_tags(const Renkei__Record *r, char ***v, size_t *n);
/* The code of an enum value, "" when it has none. */
const char *rk_rtext_code(const ProtobufCEnumDescriptor *d, int v);
void rk_rtext_author_hex(const rk_record *rec, char out[2 * RK_KEY_LEN + 1]);
/* The roster name of the author, or its key (hex) so an entry is never anonymous. */
const char *rk_rtext_author_display(const rk_record *rec, const rk_feed_meta *m, const char *hex);
void rk_rtext_version_time(uint64_t ms, char out[32]);
/* Whether a record has an entry in the exports (not a tombstone, a body set). */
bool rk_rtext_shown(const rk_record *rec);
/* A malloc'd copy of recs without tombstones, newest version first (NULL-terminated when shorter),
 * and its length. */
const rk_record **rk_rtext_sorted_copy(const rk_record *const *recs, size_t n);
size_t rk_rtext_count_sorted(const rk_record **v, size_t n);
/* Appends the summary and the labelled lines shared by Atom content, JSON Feed content_text and the
 * calendar's DESCRIPTION. */
int rk_rtext_describe(rk_buf *b, const Renkei__Record *r);
/* Length of the UTF-8 sequence at p (1 for a stray byte, so progress is always made). */
size_t rk_rtext_u8len(const unsigned char *p, size_t avail);
/* C0 except tab, LF and CR, DEL, C1 and U+FFFE/U+FFFF: never shown, and forbidden in XML. */
bool rk_rtext_is_control(const unsigned char *p, size_t n);

#endif
