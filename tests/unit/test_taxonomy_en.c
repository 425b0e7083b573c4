/* test_taxonomy_en: every coded value of every taxonomy has an English label, distinct within its
 * taxonomy, so the web page's English view never falls back to a bare code or shows two choices
 * under one name; and the 47 prefectures have their romanised names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lookup_cases.h"
#include "run_tests.h"
#include "taxonomy.h"
#include "taxonomy_en.h"

static void test_every_value_labelled(void **state)
{
    (void)state;
    size_t n;
    const rk_taxonomy *all = rk_taxonomy_list(&n);
    for (size_t i = 0; i < n; i++) {
        const ProtobufCEnumDescriptor *d = all[i].desc;
        if (!d)
            continue;
        for (unsigned k = 0; k < d->n_values; k++) {
            int v = d->values[k].value;
            if (!rk_taxonomy_code(d, v))
                continue;
            const char *en = rk_label_en(d, v);
            if (!en)
                fail_msg("%s: %s has no English label", all[i].name, rk_taxonomy_code(d, v));
            assert_true(en[0] != '\0');
            for (unsigned j = 0; j < k; j++) {
                const char *other = rk_label_en(d, d->values[j].value);
                if (other && strcmp(other, en) == 0)
                    fail_msg("%s: two values labelled \"%s\"", all[i].name, en);
            }
        }
        assert_null(rk_label_en(d, 0)); /* "not given" is never labelled */
        assert_null(rk_label_en(d, (int)d->n_values + 100));
    }
    assert_string_equal(rk_label_en(&renkei__industry__descriptor, RENKEI__INDUSTRY__INDUSTRY_MANUFACTURING),
                        "Manufacturing");
    assert_string_equal(rk_label_en(&renkei__skill__descriptor, RENKEI__SKILL__SKILL_AI), "AI");
}

static void test_prefectures(void **state)
{
    (void)state;
    for (int p = 1; p <= 47; p++) {
        const char *en = rk_prefecture_name_en(rk_prefecture_code(p));
        assert_non_null(en);
        for (int q = 1; q < p; q++)
            assert_string_not_equal(en, rk_prefecture_name_en(rk_prefecture_code(q)));
    }
    static const lookup_case names[] = {
        {"01", "Hokkaido"}, {"17", "Ishikawa"}, {"47", "Okinawa"}, {"00", NULL},
        {"48", NULL},       {"7", NULL},        {"170", NULL},     {NULL, NULL},
    };
    EXPECT_LOOKUPS(rk_prefecture_name_en, names);
}

int main(void)
{
    return RK_RUN_TESTS(NULL, NULL, cmocka_unit_test(test_every_value_labelled), cmocka_unit_test(test_prefectures));
}
