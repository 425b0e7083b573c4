/* fpdigest: reconciliation fingerprints through a digest context kept per thread (fpdigest.h).
 *
 * The algorithm is fetched once per process and never freed (it stays reachable); each thread's
 * context is made on its first fingerprint and freed when the thread exits (the key's destructor).
 */
#include "fpdigest.h"

#include <pthread.h>
#include <string.h>

#include <openssl/evp.h>

#include "sign.h"

static pthread_once_t fpdigest_once = PTHREAD_ONCE_INIT;
static EVP_MD *fpdigest_md;
static pthread_key_t fpdigest_key;
static int fpdigest_key_ok;

static void fpdigest_ctx_free(void *ctx)
{
    EVP_MD_CTX_free(ctx);
}

static void fpdigest_init(void)
{
    fpdigest_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    fpdigest_key_ok = pthread_key_create(&fpdigest_key, fpdigest_ctx_free) == 0;
}

/* This thread's context, or NULL when none could be made. */
static EVP_MD_CTX *fpdigest_ctx(void)
{
    pthread_once(&fpdigest_once, fpdigest_init);
    if (!fpdigest_md || !fpdigest_key_ok)
        return NULL;
    EVP_MD_CTX *ctx = pthread_getspecific(fpdigest_key);
    if (!ctx) {
        ctx = EVP_MD_CTX_new();
        if (ctx && pthread_setspecific(fpdigest_key, ctx) != 0) {
            EVP_MD_CTX_free(ctx);
            ctx = NULL;
        }
    }
    return ctx;
}

void rk_fpdigest(const uint8_t sum[32], uint64_t count, uint8_t fp[RK_FPDIGEST_LEN])
{
    uint8_t buf[32 + 8], digest[RK_HASH_LEN];
    memcpy(buf, sum, 32);
    for (int i = 0; i < 8; i++)
        buf[32 + i] = (uint8_t)(count >> (8 * i));
    EVP_MD_CTX *ctx = fpdigest_ctx();
    unsigned len = 0;
    if (!ctx || EVP_DigestInit_ex2(ctx, fpdigest_md, NULL) != 1 || EVP_DigestUpdate(ctx, buf, sizeof buf) != 1 ||
        EVP_DigestFinal_ex(ctx, digest, &len) != 1 || len != RK_HASH_LEN)
        rk_sha256(buf, sizeof buf, digest);
    memcpy(fp, digest, RK_FPDIGEST_LEN);
}
