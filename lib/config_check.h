/* config_check: checks a parsed configuration against the system it will run on (data_dir, key_file,
 * host names), for `renkeid --check`. Changes nothing. See config_check.c.
 */
#ifndef RENKEI_CONFIG_CHECK_H
#define RENKEI_CONFIG_CHECK_H

#include "config.h"
#include "util.h"

typedef struct rk_config_check_counts {
    size_t errors;
    size_t warnings;
} rk_config_check_counts;

/* Appends one line per finding to out ("FILE:LINE: [section] key: problem", warnings with
 * "warning: " before the problem) and counts them. Returns 0 when there is no error (warnings
 * allowed), -1 otherwise. */
int rk_config_check_system(const rk_config *c, rk_buf *out, rk_config_check_counts *counts);

#endif
