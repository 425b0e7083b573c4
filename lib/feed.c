/* feed: renders current records as Atom 1.0 (RFC 4287, paged as RFC 5005) and JSON Feed 1.1.
 *
 * Invariants: output depends only on the records and the meta passed in (no clock reads), so the same
 * store state always renders the same bytes and ETags computed from store state stay honest. Entry
 * ids are "urn:renkei:<author hex>:<rid>": they derive from the record's identity, never from the
 * serving node, so every node in the network names a record the same way and subscribers see
 * updates rather than duplicates. Text is cleaned of control characters before it is escaped,
 * because one stray byte makes a whole XML feed unreadable. Absolute links start with
 * meta->base_url ([api] public_url) and nothing else: a public export never links to the node's
 * API, which the reverse proxy does not expose, so entries carry no `alternate` link until a page
 * for people exists. A page is written entry by entry (rk_feed_writer) so that the export renders it
 * straight from the store's walk, holding one record at a time; the whole-page functions go through
 * the same writer, so both give the same bytes.
 */
#include "feed.h"

#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <jansson.h>

#include "rtext.h"
#include "jsonlist.h"
#include "taxonomy.h"
#include "validate.h"

/* This page's absolute URL: the caller's (with its query and cursor) or the export's plain path. */
static int self_url(rk_buf *b, const rk_feed_meta *m, const char *path)
{
    if (m && m->self_url)
        return rk_buf_puts(b, m->self_url);
    return rk_buf_printf(b, "%s%s", m && m->base_url ? m->base_url : "", path);
}

/* ------------------------------------------------------------------------------------- Atom */

/* Escaping itself is GLib's g_markup_escape_text. Two things stay here, because GLib does them in a
 * way XML readers reject or undo: it writes C0 controls as references such as "&#x1;", which XML 1.0
 * forbids, so controls are dropped first; and it leaves CR raw, which every XML parser folds into LF,
 * so CR is written as "&#13;". The text between those is handed to GLib a run at a time. */
static int xml_text(rk_buf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)rk_rtext_or_empty(s);
    size_t len = strlen((const char *)p);
    size_t run = 0; /* start of the pending run of ordinary text */
    for (size_t i = 0; i <= len;) {
        size_t n = i < len ? rk_rtext_u8len(p + i, len - i) : 0;
        bool plain = i < len && p[i] != '\r' && !rk_rtext_is_control(p + i, n);
        if (plain) {
            i += n;
            continue;
        }
        if (i > run) {
            /* GLib needs valid UTF-8 (record text is validated on ingest; other text, such as a
             * configured URL, gets U+FFFD for broken bytes here rather than an unreadable feed) */
            const char *t = (const char *)p + run;
            char *fixed = g_utf8_validate_len(t, i - run, NULL) ? NULL : g_utf8_make_valid(t, (gssize)(i - run));
            char *esc = fixed ? g_markup_escape_text(fixed, -1) : g_markup_escape_text(t, (gssize)(i - run));
            int rc = rk_buf_puts(b, esc);
            g_free(esc);
            g_free(fixed);
            if (rc)
                return -1;
        }
        if (i == len)
            break;
        if (p[i] == '\r' && rk_buf_puts(b, "&#13;"))
            return -1;
        i += n;
        run = i;
    }
    return 0;
}

static int xml_elem(rk_buf *b, const char *indent, const char *tag, const char *text)
{
    if (rk_buf_printf(b, "%s<%s>", indent, tag) || xml_text(b, text) || rk_buf_printf(b, "</%s>\n", tag))
        return -1;
    return 0;
}

static int atom_category(rk_buf *b, const char *scheme, const char *term, const char *label)
{
    if (!term || !*term)
        return 0;
    if (rk_buf_puts(b, "    <category scheme=\"urn:renkei:") || xml_text(b, scheme) || rk_buf_puts(b, "\" term=\"") ||
        xml_text(b, term) || rk_buf_puts(b, "\""))
        return -1;
    if (label && *label && strcmp(label, term) != 0 &&
        (rk_buf_puts(b, " label=\"") || xml_text(b, label) || rk_buf_puts(b, "\"")))
        return -1;
    return rk_buf_puts(b, "/>\n");
}

static int atom_entry(rk_buf *out, rk_buf *tmp, const rk_record *rec, const rk_feed_meta *m)
{
    const Renkei__Record *r = rec->msg;
    char hex[2 * RK_KEY_LEN + 1], updated[32], published[32];
    rk_rtext_author_hex(rec, hex);
    rk_rtext_version_time(r->version, updated);
    rk_rtext_version_time(r->created_at ? r->created_at : r->version, published);
    rk_buf_reset(tmp);
    if (rk_buf_puts(out, "  <entry>\n") || rk_buf_printf(tmp, "urn:renkei:%s:%s", hex, rk_rtext_or_empty(r->rid)) ||
        xml_elem(out, "    ", "id", tmp->data) || rk_rtext_display_title(tmp, r, rk_rtext_title(r)) ||
        xml_elem(out, "    ", "title", tmp->data) || xml_elem(out, "    ", "updated", updated) ||
        xml_elem(out, "    ", "published", published) || rk_buf_puts(out, "    <author>\n") ||
        xml_elem(out, "      ", "name", rk_rtext_author_display(rec, m, hex)))
        return -1;
    rk_buf_reset(tmp);
    if (rk_buf_printf(tmp, "urn:renkei:node:%s", hex) || xml_elem(out, "      ", "uri", tmp->data) ||
        rk_buf_puts(out, "    </author>\n"))
        return -1;
    if (*rk_rtext_summary(r) && xml_elem(out, "    ", "summary", rk_rtext_summary(r)))
        return -1;
    rk_buf_reset(tmp);
    if (rk_rtext_describe(tmp, r) || rk_buf_puts(out, "    <content type=\"text\">") || xml_text(out, tmp->data) ||
        rk_buf_puts(out, "</content>\n"))
        return -1;
    const char *kind = rk_kind_name((int)r->kind);
    const char *pref = rk_rtext_prefecture(r);
    if (atom_category(out, "kind", kind, rk_label_ja(&renkei__kind__descriptor, (int)r->kind)) ||
        atom_category(out, "prefecture", pref, rk_prefecture_name(pref)))
        return -1;
    if (r->body_case == RENKEI__RECORD__BODY_CASE) {
        int ind = (int)r->case_->industry, dx = (int)r->case_->dx_level;
        if (atom_category(out, "industry", rk_rtext_code(&renkei__industry__descriptor, ind),
                          rk_label_ja(&renkei__industry__descriptor, ind)) ||
            atom_category(out, "dx_level", rk_rtext_code(&renkei__dx_level__descriptor, dx),
                          rk_label_ja(&renkei__dx_level__descriptor, dx)))
            return -1;
    } else if (r->body_case == RENKEI__RECORD__BODY_EVENT) {
        int et = (int)r->event->event_type;
        if (atom_category(out, "event_type", rk_rtext_code(&renkei__event_type__descriptor, et),
                          rk_label_ja(&renkei__event_type__descriptor, et)))
            return -1;
    }
    Renkei__Skill *sk;
    size_t nsk;
    rk_rtext_skills(r, &sk, &nsk);
    for (size_t i = 0; i < nsk; i++)
        if (atom_category(out, "skill", rk_rtext_code(&renkei__skill__descriptor, (int)sk[i]),
                          rk_label_ja(&renkei__skill__descriptor, (int)sk[i])))
            return -1;
    char **tags;
    size_t ntags;
    rk_rtext_tags(r, &tags, &ntags);
    for (size_t i = 0; i < ntags; i++)
        if (atom_category(out, "tag", tags[i], NULL))
            return -1;
    return rk_buf_puts(out, "  </entry>\n");
}

static int atom_begin(rk_feed_writer *w, uint64_t newest)
{
    const rk_feed_meta *m = w->m;
    rk_buf *out = w->out, *tmp = &w->tmp;
    char hex[2 * RK_KEY_LEN + 1] = "";
    if (m && m->node_key)
        rk_hex_encode(m->node_key, RK_KEY_LEN, hex);
    char updated[32];
    /* The feed changes exactly when its newest entry does; an empty feed has nothing newer than the epoch. */
    rk_rtext_version_time(newest, updated);
    if (rk_buf_puts(out, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\" "
                         "xml:lang=\"ja\">\n"))
        return -1;
    rk_buf_reset(tmp);
    if (rk_buf_printf(tmp, "urn:renkei:feed:%s", hex) || xml_elem(out, "  ", "id", tmp->data))
        return -1;
    rk_buf_reset(tmp);
    if (rk_buf_printf(tmp, "renkei: %s", w->node) || xml_elem(out, "  ", "title", tmp->data) ||
        xml_elem(out, "  ", "subtitle", "地域DX・リスキリング連携ネットワークの公開事例とイベント") ||
        xml_elem(out, "  ", "updated", updated) || rk_buf_puts(out, "  <author>\n") ||
        xml_elem(out, "    ", "name", w->node) || rk_buf_puts(out, "  </author>\n"))
        return -1;
    rk_buf_reset(tmp);
    if (self_url(tmp, m, "/v1/export/feed.atom") ||
        rk_buf_puts(out, "  <link rel=\"self\" type=\"application/atom+xml\" href=\"") || xml_text(out, tmp->data) ||
        rk_buf_puts(out, "\"/>\n"))
        return -1;
    /* RFC 5005 paging: the next (older) page, absent on the last one */
    if (m && m->next_url &&
        (rk_buf_puts(out, "  <link rel=\"next\" type=\"application/atom+xml\" href=\"") || xml_text(out, m->next_url) ||
         rk_buf_puts(out, "\"/>\n")))
        return -1;
    return rk_buf_printf(out, "  <generator uri=\"urn:renkei\" version=\"%s\">renkei</generator>\n", RENKEI_VERSION);
}

/* ---------------------------------------------------------------------------------- JSON Feed */

/* jansson refuses invalid UTF-8 but happily carries control characters; strip them for symmetry
 * with the XML feed so every export shows the same text. */
static json_t *clean_string(const char *s)
{
    rk_buf b;
    rk_buf_init(&b);
    const unsigned char *p = (const unsigned char *)rk_rtext_or_empty(s);
    size_t len = strlen((const char *)p);
    for (size_t i = 0; i < len;) {
        size_t n = rk_rtext_u8len(p + i, len - i);
        if (!rk_rtext_is_control(p + i, n) && rk_buf_append(&b, p + i, n)) {
            rk_buf_free(&b);
            return NULL;
        }
        i += n;
    }
    json_t *j = json_stringn(b.data ? b.data : "", b.len);
    rk_buf_free(&b);
    return j;
}

static int jset(json_t *o, const char *k, json_t *v)
{
    return v ? json_object_set_new(o, k, v) : -1;
}

static int jpush(json_t *a, json_t *v)
{
    return v ? json_array_append_new(a, v) : -1;
}

/* Children are attached to their parent as soon as they exist (jansson's *_new calls take the
 * reference even when they fail), so one decref of the item releases everything on any error path. */
static json_t *json_item(const rk_record *rec, const rk_feed_meta *m, rk_buf *tmp)
{
    const Renkei__Record *r = rec->msg;
    char hex[2 * RK_KEY_LEN + 1], updated[32], published[32], id[RK_ID_MAX];
    rk_rtext_author_hex(rec, hex);
    rk_rtext_version_time(r->version, updated);
    rk_rtext_version_time(r->created_at ? r->created_at : r->version, published);
    rk_record_id(r->author.data, rk_rtext_or_empty(r->rid), id);
    json_t *it = json_object();
    if (!it)
        return NULL;
    rk_buf_reset(tmp);
    if (rk_buf_printf(tmp, "urn:renkei:%s:%s", hex, rk_rtext_or_empty(r->rid)) ||
        jset(it, "id", json_string(tmp->data)))
        goto fail;
    if (rk_rtext_display_title(tmp, r, rk_rtext_title(r)) || jset(it, "title", clean_string(tmp->data)))
        goto fail;
    rk_buf_reset(tmp);
    if (rk_rtext_describe(tmp, r) || jset(it, "content_text", clean_string(tmp->data ? tmp->data : "")))
        goto fail;
    if (*rk_rtext_summary(r) && jset(it, "summary", clean_string(rk_rtext_summary(r))))
        goto fail;
    if (jset(it, "date_published", json_string(published)) || jset(it, "date_modified", json_string(updated)))
        goto fail;
    json_t *authors = json_array();
    if (jset(it, "authors", authors))
        goto fail;
    json_t *author = json_object();
    if (jpush(authors, author) || jset(author, "name", clean_string(rk_rtext_author_display(rec, m, hex))))
        goto fail;
    if (jset(it, "language", json_string(r->language && *r->language ? r->language : "ja")))
        goto fail;
    /* tags: the kind, the prefecture code, taxonomy codes, then the publisher's free tags */
    json_t *tags = json_array();
    const char *pref = rk_rtext_prefecture(r);
    if (jset(it, "tags", tags) || jpush(tags, json_string(rk_kind_name((int)r->kind))) ||
        (*pref && jpush(tags, json_string(pref))))
        goto fail;
    if (r->body_case == RENKEI__RECORD__BODY_CASE) {
        const char *ind = rk_rtext_code(&renkei__industry__descriptor, (int)r->case_->industry);
        const char *dx = rk_rtext_code(&renkei__dx_level__descriptor, (int)r->case_->dx_level);
        if ((*ind && jpush(tags, json_string(ind))) || (*dx && jpush(tags, json_string(dx))))
            goto fail;
    }
    Renkei__Skill *sk;
    size_t nsk;
    rk_rtext_skills(r, &sk, &nsk);
    for (size_t i = 0; i < nsk; i++) {
        const char *c = rk_rtext_code(&renkei__skill__descriptor, (int)sk[i]);
        if (*c && jpush(tags, json_string(c)))
            goto fail;
    }
    char **ft;
    size_t nft;
    rk_rtext_tags(r, &ft, &nft);
    for (size_t i = 0; i < nft; i++)
        if (jpush(tags, clean_string(ft[i])))
            goto fail;
    /* the extension object carries the machine fields a portal needs to link back and filter */
    json_t *ext = json_object();
    if (jset(it, "_renkei", ext) || jset(ext, "id", json_string(id)) ||
        jset(ext, "kind", json_string(rk_kind_name((int)r->kind))) || jset(ext, "author", json_string(hex)) ||
        jset(ext, "version", json_integer((json_int_t)r->version)) || jset(ext, "prefecture", json_string(pref)))
        goto fail;
    if (r->body_case == RENKEI__RECORD__BODY_EVENT) {
        const Renkei__Event *e = r->event;
        if (jset(ext, "starts_at", json_string(rk_rtext_or_empty(e->starts_at))) ||
            jset(ext, "ends_at", json_string(rk_rtext_or_empty(e->ends_at))) ||
            jset(ext, "status", json_string(rk_rtext_code(&renkei__event_status__descriptor, (int)e->status))))
            goto fail;
    }
    return it;
fail:
    json_decref(it);
    return NULL;
}

static int json_begin(rk_feed_writer *w)
{
    const rk_feed_meta *m = w->m;
    const char *base = m && m->base_url ? m->base_url : "";
    rk_buf *tmp = &w->tmp;
    json_t *feed = json_object();
    int rc = -1;
    if (!feed)
        return -1;
    rk_buf_reset(tmp);
    if (rk_buf_printf(tmp, "renkei: %s", w->node) ||
        jset(feed, "version", json_string("https://jsonfeed.org/version/1.1")) ||
        jset(feed, "title", clean_string(tmp->data)))
        goto done;
    rk_buf_reset(tmp);
    if (*base && jset(feed, "home_page_url", json_string(base)))
        goto done;
    if (self_url(tmp, m, "/v1/export/feed.json") || jset(feed, "feed_url", json_string(tmp->data)) ||
        (m && m->next_url && jset(feed, "next_url", json_string(m->next_url))) ||
        jset(feed, "description", json_string("地域DX・リスキリング連携ネットワークの公開事例とイベント")) ||
        jset(feed, "language", json_string("ja")))
        goto done;
    json_t *authors = json_array();
    if (jset(feed, "authors", authors))
        goto done;
    json_t *author = json_object();
    if (jpush(authors, author) || jset(author, "name", clean_string(w->node)))
        goto done;
    rc = rk_jsonlist_document_open(&w->items, w->out, feed, "items");
done:
    json_decref(feed);
    return rc;
}

/* ------------------------------------------------------------------------------- the writer */

int rk_feed_begin(rk_feed_writer *w, bool json, const rk_feed_meta *m, uint64_t newest, rk_buf *out)
{
    memset(w, 0, sizeof *w);
    w->json = json;
    w->m = m;
    w->out = out;
    w->node = m && m->node_name ? m->node_name : "renkei";
    rk_buf_init(&w->tmp);
    return json ? json_begin(w) : atom_begin(w, newest);
}

int rk_feed_entry(rk_feed_writer *w, const rk_record *rec)
{
    if (!rk_rtext_shown(rec))
        return 0;
    if (!w->json)
        return atom_entry(w->out, &w->tmp, rec, w->m);
    json_t *it = json_item(rec, w->m, &w->tmp);
    int rc = !it || rk_jsonlist_document_item(&w->items, it) ? -1 : 0;
    json_decref(it);
    return rc;
}

int rk_feed_end(rk_feed_writer *w)
{
    return w->json ? rk_jsonlist_document_close(&w->items) : rk_buf_puts(w->out, "</feed>\n");
}

void rk_feed_writer_free(rk_feed_writer *w)
{
    rk_buf_free(&w->tmp);
}

/* A whole page from records in any order: newest first, tombstones left out. */
static int feed_whole(bool json, const rk_record *const *recs, size_t n, const rk_feed_meta *m, rk_buf *out)
{
    const rk_record **v = rk_rtext_sorted_copy(recs, n);
    if (!v)
        return -1;
    size_t k = rk_rtext_count_sorted(v, n);
    rk_feed_writer w;
    int rc = rk_feed_begin(&w, json, m, k ? v[0]->msg->version : 0, out);
    for (size_t i = 0; rc == 0 && i < k; i++)
        rc = rk_feed_entry(&w, v[i]);
    if (rc == 0)
        rc = rk_feed_end(&w);
    rk_feed_writer_free(&w);
    free(v);
    return rc;
}

int rk_feed_atom(const rk_record *const *recs, size_t n, const rk_feed_meta *m, rk_buf *out)
{
    return feed_whole(false, recs, n, m, out);
}

int rk_feed_json(const rk_record *const *recs, size_t n, const rk_feed_meta *m, rk_buf *out)
{
    return feed_whole(true, recs, n, m, out);
}
