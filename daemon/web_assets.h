/* web_assets: the web page's static files (web/), embedded in renkeid at build time by
 * web/embed.cmake into web_assets.c in the build tree. Each name is a file name without a directory;
 * each array ends with a NUL not counted in len. */
#ifndef RENKEI_WEB_ASSETS_H
#define RENKEI_WEB_ASSETS_H

#include <stddef.h>

typedef struct rk_web_asset {
    const char *name;
    const char *content_type;
    const unsigned char *data;
    size_t len;
} rk_web_asset;

extern const rk_web_asset rk_web_assets[];
extern const size_t rk_web_asset_count;

#endif
