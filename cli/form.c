/* form: the kinds of record a coordinator writes with the command line (see rk_record_form in
 * cli.h). The required fields are the node's rules for each kind's body (lib/validate.c), listed here
 * so the template can mark them and --ask can insist on them before the node is asked; the questions
 * are the main fields --ask goes through, in the order a coordinator thinks of them.
 */
#include <string.h>

#include "cli.h"

static const char *const required_case[] = {"title", "summary", "prefecture", "industry", "dx_level", NULL};
static const char *const required_event[] = {"title",  "event_type", "starts_at", "ends_at",
                                             "format", "prefecture", NULL};
static const char *const required_region[] = {"name", "node_kind", NULL};

static const char *const asked_case[] = {"title",      "summary",   "prefecture", "industry", "dx_level", "skills",
                                         "place_name", "challenge", "initiative", "tags",     NULL};
static const char *const asked_event[] = {"title",   "event_type", "starts_at",       "ends_at", "format", "prefecture",
                                          "summary", "organiser",  "application_url", "tags",    NULL};
static const char *const asked_region[] = {"name",           "node_kind", "prefecture", "summary",
                                           "key_industries", "website",   NULL};

static const rk_record_form forms[] = {
    {"case", &renkei__case__descriptor, required_case, asked_case, "事例"},
    {"event", &renkei__event__descriptor, required_event, asked_event, "イベント・講座"},
    {"region", &renkei__region_profile__descriptor, required_region, asked_region, "地域プロファイル"},
};

const rk_record_form *rk_record_form_of(const char *kind)
{
    for (size_t i = 0; kind && i < sizeof forms / sizeof forms[0]; i++)
        if (strcmp(forms[i].kind, kind) == 0)
            return &forms[i];
    return NULL;
}

bool rk_record_form_requires(const rk_record_form *form, const char *field)
{
    for (const char *const *f = form->required; *f; f++)
        if (strcmp(*f, field) == 0)
            return true;
    return false;
}
