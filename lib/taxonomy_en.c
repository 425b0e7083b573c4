/* taxonomy_en: English labels of the taxonomies (taxonomy_en.h).
 *
 * Tables are indexed by enum value and follow the value order in proto/renkei.proto, as the Japanese
 * ones in taxonomy.c do; a unit test checks that every value with a code has a label here. Industry
 * labels are the official English names of the JSIC divisions (shortened where the official name is
 * a sentence); prefectures are named in Hepburn romanisation without the 都/府/県 suffix, as Japanese
 * prefectures write themselves in English.
 */
#include "taxonomy_en.h"
#include "taxonomy.h"

static const char *const prefecture_en[47] = {
    "Hokkaido", "Aomori",    "Iwate",     "Miyagi",    "Akita",    "Yamagata",  "Fukushima", "Ibaraki",
    "Tochigi",  "Gunma",     "Saitama",   "Chiba",     "Tokyo",    "Kanagawa",  "Niigata",   "Toyama",
    "Ishikawa", "Fukui",     "Yamanashi", "Nagano",    "Gifu",     "Shizuoka",  "Aichi",     "Mie",
    "Shiga",    "Kyoto",     "Osaka",     "Hyogo",     "Nara",     "Wakayama",  "Tottori",   "Shimane",
    "Okayama",  "Hiroshima", "Yamaguchi", "Tokushima", "Kagawa",   "Ehime",     "Kochi",     "Fukuoka",
    "Saga",     "Nagasaki",  "Kumamoto",  "Oita",      "Miyazaki", "Kagoshima", "Okinawa",
};

const char *rk_prefecture_name_en(const char *code)
{
    return rk_prefecture_valid(code) ? prefecture_en[(code[0] - '0') * 10 + (code[1] - '0') - 1] : NULL;
}

static const char *const kind_en[] = {NULL,       "Case",        "Event",        "Region profile",
                                      "Deletion", "Endorsement", "Key rotation", "Key revocation"};
static const char *const visibility_en[] = {NULL, "Public", "Network only", "Local"};
static const char *const node_kind_en[] = {NULL, "Region", "Theme", "Partnership", "National"};
static const char *const case_kind_en[] = {NULL, "Company case", "Support programme", "Municipal in-house initiative"};
static const char *const industry_en[] = {
    NULL,
    "Agriculture and forestry",
    "Fisheries",
    "Mining and quarrying",
    "Construction",
    "Manufacturing",
    "Electricity, gas, heat supply and water",
    "Information and communications",
    "Transport and postal activities",
    "Wholesale and retail trade",
    "Finance and insurance",
    "Real estate and goods rental and leasing",
    "Scientific research, professional and technical services",
    "Accommodation, eating and drinking services",
    "Living-related and personal services and amusement services",
    "Education, learning support",
    "Medical, health care and welfare",
    "Compound services",
    "Services, not elsewhere classified",
    "Government, except elsewhere classified",
    "Industries unable to classify",
};
static const char *const dx_level_en[] = {
    NULL,
    "Efficiency and productivity",
    "Added value to existing products and services",
    "New products and services",
    "Business model transformation",
    "Corporate culture and mindset transformation",
};
static const char *const digital_stage_en[] = {NULL, "Not started", "Digitization", "Digitalization", "DX"};
static const char *const process_step_en[] = {NULL, "Decision", "Vision and awareness", "Full-scale promotion",
                                              "Expansion and realisation"};
static const char *const reskilling_type_en[] = {NULL, "Tool mastery", "Planning and promotion", "Job conversion"};
static const char *const dx_role_en[] = {
    NULL, "Business architect", "Designer", "Data scientist", "Software engineer", "Cybersecurity specialist"};
static const char *const audience_en[] = {
    NULL,
    "Owners",
    "Executives",
    "HR",
    "Managers",
    "Site leaders",
    "Employees",
    "DX champions",
    "Business advisors and SME consultants",
    "Municipal staff",
    "Job seekers",
    "Citizens",
    "Students",
    "Advanced digital talent",
};
static const char *const org_type_en[] = {
    NULL,
    "National government",
    "Prefecture",
    "Municipality",
    "Chamber of commerce",
    "Business association",
    "University",
    "Financial institution",
    "IT vendor",
    "Consultant",
    "Training provider",
    "Company",
    "NPO",
    "IoT Lab",
};
static const char *const size_band_en[] = {NULL, "Up to 20 employees", "21–100 employees", "101–300 employees",
                                           "Over 300 employees"};
static const char *const support_type_en[] = {
    NULL,
    "Consultation",
    "Matching",
    "Demo and showcase",
    "Seminar",
    "Workshop",
    "Training by level",
    "Hackathon",
    "E-learning",
    "Subsidy or grant",
    "Declaration, certification or award",
    "Expert dispatch",
    "Outreach visit",
    "Portal site",
    "Consortium or council",
    "Joint procurement",
};
static const char *const event_type_en[] = {
    NULL,
    "Seminar",
    "Workshop",
    "Course",
    "Meetup",
    "Exchange meeting",
    "Fieldwork tour",
    "Hackathon",
    "Matching event",
    "Consultation day",
    "Report session",
    "Study committee",
    "Kickoff or declaration",
    "Webinar",
    "Social gathering",
};
static const char *const skill_en[] = {
    NULL,    "IT literacy",        "IT Passport",           "Programming", "AI",       "System development",
    "IoT",   "Data analysis",      "Digital marketing",     "E-commerce",  "Robotics", "Cybersecurity",
    "Cloud", "Project management", "New business planning",
};
static const char *const event_format_en[] = {NULL, "Online", "On site", "Hybrid"};
static const char *const open_scope_en[] = {NULL, "Region only", "Open nationwide"};
static const char *const event_status_en[] = {NULL,   "Planned",   "Scheduled", "Changed",
                                              "Full", "Cancelled", "Completed"};
static const char *const date_precision_en[] = {NULL, "Date and time", "Day", "Month", "Fiscal year"};
static const char *const recurrence_en[] = {NULL, "None", "Weekly", "Monthly", "Quarterly", "Half-yearly", "Yearly"};
static const char *const dx_level_fit_en[] = {NULL, "Beginner (awareness)", "Intermediate", "Advanced"};
static const char *const spread_status_en[] = {NULL, "Piloted", "Evaluated", "Adopted elsewhere"};

static const rk_label_table label_tables_en[] = {
    RK_LABELS(renkei__kind__descriptor, kind_en),
    RK_LABELS(renkei__visibility__descriptor, visibility_en),
    RK_LABELS(renkei__node_kind__descriptor, node_kind_en),
    RK_LABELS(renkei__case_kind__descriptor, case_kind_en),
    RK_LABELS(renkei__industry__descriptor, industry_en),
    RK_LABELS(renkei__dx_level__descriptor, dx_level_en),
    RK_LABELS(renkei__digital_stage__descriptor, digital_stage_en),
    RK_LABELS(renkei__dx_process_step__descriptor, process_step_en),
    RK_LABELS(renkei__reskilling_type__descriptor, reskilling_type_en),
    RK_LABELS(renkei__dx_role__descriptor, dx_role_en),
    RK_LABELS(renkei__audience__descriptor, audience_en),
    RK_LABELS(renkei__org_type__descriptor, org_type_en),
    RK_LABELS(renkei__size_band__descriptor, size_band_en),
    RK_LABELS(renkei__support_type__descriptor, support_type_en),
    RK_LABELS(renkei__event_type__descriptor, event_type_en),
    RK_LABELS(renkei__skill__descriptor, skill_en),
    RK_LABELS(renkei__event_format__descriptor, event_format_en),
    RK_LABELS(renkei__open_scope__descriptor, open_scope_en),
    RK_LABELS(renkei__event_status__descriptor, event_status_en),
    RK_LABELS(renkei__date_precision__descriptor, date_precision_en),
    RK_LABELS(renkei__recurrence__descriptor, recurrence_en),
    RK_LABELS(renkei__dx_level_fit__descriptor, dx_level_fit_en),
    RK_LABELS(renkei__spread_status__descriptor, spread_status_en),
};

const char *rk_label_en(const ProtobufCEnumDescriptor *d, int value)
{
    return rk_label_lookup(label_tables_en, sizeof label_tables_en / sizeof label_tables_en[0], d, value);
}
