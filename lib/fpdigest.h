/* fpdigest: the fingerprint range-based set reconciliation compares (docs/storage.md, "The RBSR
 * fingerprint index"): the first 16 bytes of SHA-256(sum || le64(count)), where sum is the 256-bit
 * little-endian sum of a range's item hashes.
 *
 * A reconciliation of two million-item sets hashes a few hundred thousand of these 40-byte inputs, so
 * each thread keeps one digest context with the algorithm fetched once: OpenSSL 3's one-shot SHA256()
 * looks the algorithm up and allocates a context on every call, which cost three times the hashing
 * itself. The result is the same bytes either way.
 */
#ifndef RENKEI_FPDIGEST_H
#define RENKEI_FPDIGEST_H

#include <stdint.h>

#define RK_FPDIGEST_LEN 16

/* fp = first 16 bytes of SHA-256(sum[0..32) || le64(count)). Never fails: without a context (out of
 * memory) it hashes through the one-shot call. */
void rk_fpdigest(const uint8_t sum[32], uint64_t count, uint8_t fp[RK_FPDIGEST_LEN]);

#endif
