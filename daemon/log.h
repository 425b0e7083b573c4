/* log: one line per event on stderr, "ts level component: message key=value ...".
 * Thread-safe (each line is written with a single write call). The level is set once at start. */
#ifndef RENKEI_LOG_H
#define RENKEI_LOG_H

#include "util.h"

typedef enum { RK_LOG_DEBUG, RK_LOG_INFO, RK_LOG_WARN, RK_LOG_ERROR } rk_log_level;

int rk_log_set_level(const char *name); /* "debug" | "info" | "warn" | "error"; -1 if unknown */
void rk_log(rk_log_level level, const char *component, const char *fmt, ...) RK_PRINTF(3, 4);

#define rk_debug(c, ...) rk_log(RK_LOG_DEBUG, c, __VA_ARGS__)
#define rk_info(c, ...) rk_log(RK_LOG_INFO, c, __VA_ARGS__)
#define rk_warn(c, ...) rk_log(RK_LOG_WARN, c, __VA_ARGS__)
#define rk_error_log(c, ...) rk_log(RK_LOG_ERROR, c, __VA_ARGS__)

#endif
