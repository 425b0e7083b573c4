/* metrics: counters and latency histograms rendered as Prometheus text exposition (version 0.0.4).
 * Thread-safe: the API loop, the writer thread and NNG callbacks all update it. Metric and label
 * names are fixed strings from the code; label values are sanitised on render. */
#ifndef RENKEI_METRICS_H
#define RENKEI_METRICS_H

#include "util.h"

typedef struct rk_metrics rk_metrics;

rk_metrics *rk_metrics_new(void);
void rk_metrics_free(rk_metrics *m);
/* Registers help text for a metric name (optional; once at start). type: "counter" | "histogram" | "gauge" */
void rk_metrics_describe(rk_metrics *m, const char *name, const char *type, const char *help);
/* Adds delta to the counter name{label=value} (label may be NULL for none). */
void rk_metrics_add(rk_metrics *m, const char *name, const char *label, const char *value, uint64_t delta);
/* Two-label form, e.g. rejections by reason and peer. */
void rk_metrics_add2(rk_metrics *m, const char *name, const char *l1, const char *v1, const char *l2, const char *v2,
                     uint64_t delta);
void rk_metrics_set_gauge(rk_metrics *m, const char *name, double value);
/* Sets the gauge name{label=lvalue}. */
void rk_metrics_set_gauge1(rk_metrics *m, const char *name, const char *label, const char *lvalue, double value);
/* Creates the series name{label=value} at zero if it does not exist (type as described), so a label
 * value known in advance is present from start-up. */
void rk_metrics_touch(rk_metrics *m, const char *name, const char *label, const char *value);
/* Observes seconds into the histogram name{label=value}. */
void rk_metrics_observe(rk_metrics *m, const char *name, const char *label, const char *value, double seconds);
int rk_metrics_render(rk_metrics *m, rk_buf *out);

#endif
