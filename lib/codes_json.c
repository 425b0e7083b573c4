/* codes_json: the code lists of lib/taxonomy.h as JSON, for `renkei codes --json` and for the
 * choices of a form (GET /v1/codes).
 *
 * Each entry pairs the code a record carries with its Japanese label and its English one (the code
 * itself when a value has no English label yet), in the order of the taxonomy, so a list shown to a
 * person reads as the official classification does. Prefectures have no enum
 * descriptor: their list is the 47 JIS X 0401 codes in order.
 */
#include "codes_json.h"
#include "taxonomy_en.h"

static json_t *codes_of(const rk_taxonomy *t)
{
    json_t *arr = json_array();
    if (!t->desc) {
        for (int n = 1; arr && n <= 47; n++) {
            const char *code = rk_prefecture_code(n);
            if (json_array_append_new(arr,
                                      json_pack("{s:s, s:s, s:s}", "code", code, "label_ja", rk_prefecture_name(code),
                                                "label_en", rk_prefecture_name_en(code))))
                goto fail;
        }
        return arr;
    }
    for (unsigned i = 0; arr && i < t->desc->n_values; i++) {
        int v = t->desc->values[i].value;
        const char *code = rk_taxonomy_code(t->desc, v), *en = rk_label_en(t->desc, v);
        if (code && json_array_append_new(arr, json_pack("{s:s, s:s, s:s}", "code", code, "label_ja",
                                                         rk_label_ja(t->desc, v), "label_en", en ? en : code)))
            goto fail;
    }
    return arr;
fail:
    json_decref(arr);
    return NULL;
}

json_t *rk_codes_to_json(const rk_taxonomy *only)
{
    size_t n;
    const rk_taxonomy *all = rk_taxonomy_list(&n);
    json_t *out = json_object();
    for (size_t i = 0; out && i < n; i++) {
        if (only && only != &all[i])
            continue;
        json_t *list = codes_of(&all[i]);
        if (!list || json_object_set_new(out, all[i].name, list) != 0) {
            json_decref(out);
            out = NULL;
        }
    }
    return out;
}
