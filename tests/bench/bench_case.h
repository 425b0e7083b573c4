/* bench_case: the case record that bench_api publishes and queries, shared with bench_fill --api so a
 * store filled directly holds the records the API benchmark would have published (same JSON body,
 * made into a record by the API's own rk_record_from_json). Header only: bench_api links nothing of
 * the project.
 *
 * Record n is "bench-n", about 1 KiB, in prefecture BENCH_CASE_PREFECTURES[n % 9] and industry
 * BENCH_CASE_INDUSTRIES[n % 5], so each of the 45 filter pairs bench_api asks for holds every 45th
 * record.
 */
#ifndef RENKEI_BENCH_CASE_H
#define RENKEI_BENCH_CASE_H

#include <stdio.h>

static const char *const BENCH_CASE_PREFECTURES[] = {"01", "13", "17", "23", "24", "31", "34", "41", "47"};
static const char *const BENCH_CASE_INDUSTRIES[] = {"manufacturing", "wholesale_retail", "information_communications",
                                                    "accommodation_food", "construction"};
#define BENCH_CASE_NPREF (sizeof BENCH_CASE_PREFECTURES / sizeof *BENCH_CASE_PREFECTURES)
#define BENCH_CASE_NIND (sizeof BENCH_CASE_INDUSTRIES / sizeof *BENCH_CASE_INDUSTRIES)

/* Writes record n's JSON body (POST /v1/records) into out; snprintf's result. */
static inline int bench_case_json(char *out, size_t cap, long n)
{
    return snprintf(out, cap,
                    "{\"kind\":\"case\",\"rid\":\"bench-%ld\",\"case\":{\"title\":\"DX事例 %ld: 受発注のデジタル化と"
                    "社員のリスキリング\",\"summary\":\"中小製造業が受発注業務をクラウドに移し、現場リーダーが"
                    "データ分析を学んで在庫を削減した。月次の会議で成果を共有し、ほかの工場にも横展開した。"
                    "外部の専門家派遣と県の補助金を活用し、三か月で試行、半年で本格導入に至った。AIによる"
                    "需要予測も試行中。 record %ld\",\"prefecture\":\"%s\",\"industry\":\"%s\",\"dx_level\":"
                    "\"efficiency\",\"skills\":[\"data_analysis\",\"cloud\"],\"tags\":[\"受発注\",\"在庫\","
                    "\"bench\"]}}",
                    n, n, n, BENCH_CASE_PREFECTURES[n % BENCH_CASE_NPREF], BENCH_CASE_INDUSTRIES[n % BENCH_CASE_NIND]);
}

#endif
