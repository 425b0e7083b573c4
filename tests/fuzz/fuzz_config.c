/* fuzz_config: the INI parser (inih through rk_config_parse_text) and -o overrides on arbitrary bytes.
 * Input layout: INI text, optionally followed by a 0x01 byte and newline-separated overrides. Any
 * input must either parse or fail with a message; nothing may crash or leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *sep = memchr(data, 0x01, size);
    size_t text_len = sep ? (size_t)(sep - data) : size;
    char *rest = NULL;
    char *overrides[16];
    size_t n = 0;
    if (sep) {
        size_t rl = size - text_len - 1;
        rest = malloc(rl + 1);
        if (!rest)
            return 0;
        memcpy(rest, sep + 1, rl);
        rest[rl] = '\0';
        for (char *p = rest; p && *p && n < 16;) {
            overrides[n++] = p;
            char *nl = strchr(p, '\n');
            if (nl)
                *nl++ = '\0';
            p = nl;
        }
    }
    rk_config c;
    rk_error err;
    if (rk_config_parse_text("fuzz.ini", (const char *)data, text_len, overrides, n, &c, &err) == 0) {
        /* a successful parse must satisfy the documented invariants */
        if (!c.name || !c.data_dir || !c.socket || !c.key_file || !c.log_level)
            abort();
        for (size_t i = 0; i < c.peer_count; i++)
            if (!c.peers[i].has_key)
                abort();
    } else if (!err.message[0]) {
        abort();
    }
    rk_config_free(&c);
    free(rest);
    return 0;
}
