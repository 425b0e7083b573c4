/* catalog: a DCAT (W3C Data Catalog Vocabulary) catalog of the node's public records in JSON-LD.
 *
 * One dcat:Dataset per record kind the node holds publicly (事例, イベント, 地域プロフィール), each with
 * one dcat:Distribution per export format that serves it: CSV, Excel (xlsx), Atom, JSON Feed, and
 * for events the iCalendar and schema.org JSON-LD. CKAN's DCAT harvester makes one CKAN dataset per
 * dcat:Dataset and one resource per distribution, so the portal links straight to the exports.
 *
 * Invariants: every IRI is built from meta->base_url ([api] public_url) and a fixed path, so the
 * catalog names the same things whichever node serves it behind the same address; the catalog says
 * nothing about records that are not public (the caller passes public-only versions). Output
 * depends only on the arguments, so it is as cacheable as the other exports.
 */
#include "catalog.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "jsonlist.h"
#include "taxonomy.h"

static const struct {
    int kind;
    const char *code, *title, *description, *keyword;
} datasets[] = {
    {RENKEI__KIND__KIND_CASE, "case", "地域DX・リスキリング事例",
     "地域の中小企業や自治体によるDX・リスキリングの取組事例（業種、DXレベル、スキル、課題、教訓）。", "事例"},
    {RENKEI__KIND__KIND_EVENT, "event", "地域DX・リスキリング関連イベント",
     "セミナー、研修、視察、交流会など、地域DX・リスキリングに関するイベントの日程と会場。", "イベント"},
    {RENKEI__KIND__KIND_REGION, "region", "地域DX推進組織のプロフィール",
     "地域ごとのDX推進組織、推進体制、地域課題の紹介。", "地域プロフィール"},
};

static const struct {
    const char *id, *path, *title, *format, *media_type;
    bool events_only;
} formats[] = {
    {"csv", "records.csv", "CSV（UTF-8、BOM付き）", "CSV", "text/csv", false},
    {"xlsx", "records.xlsx", "Excel（xlsx）", "XLSX",
     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", false},
    {"atom", "feed.atom", "Atomフィード", "Atom", "application/atom+xml", false},
    {"json", "feed.json", "JSON Feed", "JSON", "application/feed+json", false},
    {"ics", "events.ics", "iCalendar（カレンダー購読）", "ICS", "text/calendar", true},
    {"jsonld", "events.jsonld", "schema.org Event（JSON-LD）", "JSON-LD", "application/ld+json", true},
};

static int jset(json_t *o, const char *k, json_t *v)
{
    return v ? json_object_set_new(o, k, v) : -1;
}

/* o's dct:publisher: this node, as a foaf:Agent named node (the catalog's and each dataset's). */
static int publisher(json_t *o, const char *node)
{
    json_t *pub = json_object();
    if (jset(o, "dct:publisher", pub) || jset(pub, "@type", json_string("foaf:Agent")) ||
        jset(pub, "foaf:name", json_string(node)))
        return -1;
    return 0;
}

static json_t *iri(const char *s)
{
    return s ? json_pack("{s:s}", "@id", s) : NULL;
}

/* A literal with a language tag: the titles are Japanese, and harvesters show the ja text first. */
static json_t *ja(const char *s)
{
    return json_pack("{s:s, s:s}", "@value", s, "@language", "ja");
}

static json_t *datetime(uint64_t ms)
{
    char t[32];
    rk_format_rfc3339((int64_t)(ms / 1000), 0, true, t);
    return json_pack("{s:s, s:s}", "@value", t, "@type", "xsd:dateTime");
}

static char *url(const rk_feed_meta *m, const char *path, const char *query)
{
    rk_buf b;
    rk_buf_init(&b);
    if (rk_buf_printf(&b, "%s/v1/export/%s%s%s", m && m->base_url ? m->base_url : "", path, query ? "?" : "",
                      query ? query : "")) {
        rk_buf_free(&b);
        return NULL;
    }
    return rk_buf_take(&b, NULL);
}

static json_t *distribution(const rk_feed_meta *m, const char *catalog, size_t di, size_t fi)
{
    char q[32], *access = NULL, *id = NULL;
    json_t *d = NULL;
    snprintf(q, sizeof q, "kind=%s", datasets[di].code);
    /* the calendar and the event JSON-LD hold events only and take no kind */
    access = url(m, formats[fi].path, formats[fi].events_only ? NULL : q);
    rk_buf b;
    rk_buf_init(&b);
    if (!access || rk_buf_printf(&b, "%s#%s-%s", catalog, datasets[di].code, formats[fi].id))
        goto done;
    id = rk_buf_take(&b, NULL);
    char mt[160];
    snprintf(mt, sizeof mt, "http://www.iana.org/assignments/media-types/%s", formats[fi].media_type);
    d = json_object();
    if (!d || jset(d, "@id", json_string(id)) || jset(d, "@type", json_string("dcat:Distribution")) ||
        jset(d, "dct:title", ja(formats[fi].title)) || jset(d, "dct:format", json_string(formats[fi].format)) ||
        jset(d, "dcat:mediaType", iri(mt)) || jset(d, "dcat:accessURL", iri(access)) ||
        jset(d, "dcat:downloadURL", iri(access))) {
        json_decref(d);
        d = NULL;
    }
done:
    rk_buf_free(&b);
    free(access);
    free(id);
    return d;
}

static json_t *dataset(const rk_feed_meta *m, const char *catalog, size_t di, uint64_t newest, const char *hex)
{
    rk_buf b;
    rk_buf_init(&b);
    json_t *d = json_object();
    if (!d || rk_buf_printf(&b, "%s#%s", catalog, datasets[di].code))
        goto fail;
    const char *node = m && m->node_name ? m->node_name : "renkei";
    char ident[200];
    snprintf(ident, sizeof ident, "urn:renkei:dataset:%s:%s", hex, datasets[di].code);
    char title[256];
    snprintf(title, sizeof title, "%s（%s）", datasets[di].title, node);
    json_t *kw = json_array();
    if (jset(d, "@id", json_string(b.data)) || jset(d, "@type", json_string("dcat:Dataset")) ||
        jset(d, "dct:identifier", json_string(ident)) || jset(d, "dct:title", ja(title)) ||
        jset(d, "dct:description", ja(datasets[di].description)) ||
        jset(d, "dct:language", iri("http://id.loc.gov/vocabulary/iso639-1/ja")) ||
        jset(d, "dct:modified", datetime(newest)) || jset(d, "dcat:keyword", kw) ||
        json_array_append_new(kw, ja(datasets[di].keyword)) || json_array_append_new(kw, ja("地域DX")) ||
        json_array_append_new(kw, ja("リスキリング")))
        goto fail;
    if (publisher(d, node))
        goto fail;
    json_t *dists = json_array();
    if (jset(d, "dcat:distribution", dists))
        goto fail;
    for (size_t fi = 0; fi < sizeof formats / sizeof formats[0]; fi++) {
        if (formats[fi].events_only && datasets[di].kind != RENKEI__KIND__KIND_EVENT)
            continue;
        if (json_array_append_new(dists, distribution(m, catalog, di, fi)))
            goto fail;
    }
    rk_buf_free(&b);
    return d;
fail:
    rk_buf_free(&b);
    json_decref(d);
    return NULL;
}

int rk_catalog_jsonld(const rk_feed_meta *m, const uint64_t newest[4], rk_buf *out)
{
    char hex[2 * RK_KEY_LEN + 1] = "";
    if (m && m->node_key)
        rk_hex_encode(m->node_key, RK_KEY_LEN, hex);
    const char *node = m && m->node_name ? m->node_name : "renkei";
    char *catalog = url(m, "catalog.jsonld", NULL);
    json_t *c = json_object(), *ctx = NULL;
    int rc = -1;
    if (!catalog || !c)
        goto done;
    uint64_t latest = 0;
    for (size_t i = 0; i < sizeof datasets / sizeof datasets[0]; i++)
        if (newest[datasets[i].kind] > latest)
            latest = newest[datasets[i].kind];
    char title[256];
    snprintf(title, sizeof title, "renkei: %s 公開データカタログ", node);
    ctx = json_pack("{s:s, s:s, s:s, s:s}", "dcat", "http://www.w3.org/ns/dcat#", "dct", "http://purl.org/dc/terms/",
                    "foaf", "http://xmlns.com/foaf/0.1/", "xsd", "http://www.w3.org/2001/XMLSchema#");
    if (jset(c, "@context", ctx) || jset(c, "@id", json_string(catalog)) ||
        jset(c, "@type", json_string("dcat:Catalog")) || jset(c, "dct:title", ja(title)) ||
        jset(c, "dct:description",
             ja("地域DX・リスキリング連携ネットワーク（renkei）でこのノードが公開している事例、イベント、地域プロフィー"
                "ル。")) ||
        jset(c, "dct:language", iri("http://id.loc.gov/vocabulary/iso639-1/ja")) ||
        (m && m->base_url && *m->base_url && jset(c, "foaf:homepage", iri(m->base_url))) ||
        (latest && jset(c, "dct:modified", datetime(latest))))
        goto done;
    if (publisher(c, node))
        goto done;
    json_t *sets = json_array();
    if (jset(c, "dcat:dataset", sets))
        goto done;
    for (size_t i = 0; i < sizeof datasets / sizeof datasets[0]; i++)
        if (newest[datasets[i].kind] &&
            json_array_append_new(sets, dataset(m, catalog, i, newest[datasets[i].kind], hex)))
            goto done;
    if (rk_jsonlist_document(c, out))
        goto done;
    rc = 0;
done:
    json_decref(c);
    free(catalog);
    return rc;
}
