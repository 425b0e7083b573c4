/* fuzz_record: the two ways a record enters a node from outside.
 *
 * The first input byte picks the path: even bytes feed the rest to rk_record_parse as a SignedRecord
 * (what peers send), odd bytes feed it to rk_record_from_json as JSON text (what the local API gets).
 * Besides "no crash, no leak", it checks two properties and aborts if they fail:
 *  - a record accepted from JSON, once the node fills author, rid and version, serialises to bytes
 *    that decode and validate again (what a peer will see);
 *  - the JSON printed for an accepted record is itself accepted and prints the same.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "recjson.h"
#include "recview.h"

static void parse_signed(const uint8_t *data, size_t size)
{
    rk_record rec;
    rk_error err;
    if (rk_record_parse(data, size, NULL, 0, &rec, &err) != 0)
        return;
    json_t *view = rk_record_to_json(&rec, "fuzz");
    if (!view)
        abort(); /* a validated record must always have a JSON view */
    json_decref(view);
    (void)rk_record_signature_ok(&rec);
    rk_record copy;
    if (rk_record_clone(&rec, &copy) == 0)
        rk_record_free(&copy);
    rk_record_free(&rec);
}

static void check_wire_round_trip(Renkei__Record *r)
{
    uint8_t author[RK_KEY_LEN];
    memset(author, 7, sizeof author);
    ProtobufCBinaryData saved_author = r->author;
    char *saved_rid = r->rid;
    r->author.data = author;
    r->author.len = RK_KEY_LEN;
    if (!r->rid[0])
        r->rid = "fuzz";
    r->version = 1;
    size_t len = renkei__record__get_packed_size(r);
    uint8_t *bytes = malloc(len ? len : 1);
    if (bytes) {
        renkei__record__pack(r, bytes);
        Renkei__Record *back = renkei__record__unpack(NULL, len, bytes);
        rk_error err;
        if (!back || rk_record_validate(back, &err) != 0)
            abort();
        renkei__record__free_unpacked(back, NULL);
        free(bytes);
    }
    r->author = saved_author;
    r->rid = saved_rid;
    r->version = 0;
}

static void parse_json(const uint8_t *data, size_t size)
{
    json_error_t jerr;
    json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (!j)
        return;
    Renkei__Record *r = NULL;
    rk_error err;
    if (rk_record_from_json(j, &r, &err) == 0) {
        check_wire_round_trip(r);
        json_t *printed = rk_json_from_message(&r->base);
        Renkei__Record *again = NULL;
        if (!printed || rk_record_from_json(printed, &again, &err) != 0)
            abort();
        json_t *reprinted = rk_json_from_message(&again->base);
        if (!reprinted || !json_equal(printed, reprinted))
            abort();
        json_decref(reprinted);
        json_decref(printed);
        renkei__record__free_unpacked(again, NULL);
        renkei__record__free_unpacked(r, NULL);
    }
    json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (data[0] & 1)
        parse_json(data + 1, size - 1);
    else
        parse_signed(data + 1, size - 1);
    return 0;
}
