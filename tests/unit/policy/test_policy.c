/* SPDX-License-Identifier: Apache-2.0
 *
 * test_policy.c — decisions of the ABAC engine (policy/policy.h): a table
 * of requests against one policy that exercises every rule field (roles,
 * scopes, tenant same/any/named, regions, time windows with midnight
 * wrap-around and day boundaries, conditions on numbers, booleans,
 * strings, null and missing attributes, wildcard verbs), deny overriding
 * allow and the default deny; the empty policy; reference counting across
 * threads; config/policy.example.yaml; and a differential test: 200-rule
 * random policies decided by the compiled engine and by a naive
 * evaluator written here, over thousands of random requests.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "policy/policy.h"

/* ----------------------------------------------------- decision table */

static const char TABLE_POLICY[] =
    "version: 1\n"
    "rules:\n"
    "  - id: deny-blocked-role\n"                   /* 0 */
    "    effect: deny\n"
    "    verbs: [\"*\"]\n"
    "    roles: [blocked]\n"
    "    tenant: any\n"
    "  - id: deny-heavy-hazmat\n"                   /* 1 */
    "    effect: deny\n"
    "    verbs: [tender:create]\n"
    "    tenant: any\n"
    "    when: [\"hazmat == true\", \"weightLbs > 80000\"]\n"
    "    reason: heavy hazmat needs a permit\n"
    "  - id: deny-friday-night-cancel\n"            /* 2 */
    "    effect: deny\n"
    "    verbs: [tender:cancel]\n"
    "    tenant: any\n"
    "    time: {days: [fri], hours: \"22:00-06:00\"}\n"
    "  - id: tms-create\n"                          /* 3 */
    "    effect: allow\n"
    "    verbs: [tender:create, tender:read]\n"
    "    roles: [tms]\n"
    "  - id: tms-cancel\n"                          /* 4 */
    "    effect: allow\n"
    "    verbs: [tender:cancel]\n"
    "    roles: [tms]\n"
    "  - id: scoped-transition\n"                   /* 5 */
    "    effect: allow\n"
    "    verbs: [tender:transition]\n"
    "    scopes: [tender:write, operator:act]\n"
    "    tenant: any\n"
    "  - id: regional-capacity\n"                   /* 6 */
    "    effect: allow\n"
    "    verbs: [\"capacity:*\"]\n"
    "    roles: [provider]\n"
    "    regions: [us-tx, us-az]\n"
    "    tenant: any\n"
    "  - id: acme-only\n"                           /* 7 */
    "    effect: allow\n"
    "    verbs: [audit:read]\n"
    "    tenant: acme\n"
    "  - id: business-hours\n"                      /* 8 */
    "    effect: allow\n"
    "    verbs: [report:read]\n"
    "    tenant: any\n"
    "    time: {days: [mon, tue, wed, thu, fri], hours: \"09:00-17:00\"}\n"
    "  - id: weekend\n"                             /* 9 */
    "    effect: allow\n"
    "    verbs: [report:weekend]\n"
    "    tenant: any\n"
    "    time: {days: [sat, sun]}\n"
    "  - id: late\n"                                /* 10 */
    "    effect: allow\n"
    "    verbs: [report:late]\n"
    "    tenant: any\n"
    "    time: {hours: \"20:00-24:00\"}\n"
    "  - id: cond-string\n"                         /* 11 */
    "    effect: allow\n"
    "    verbs: [offer:read]\n"
    "    tenant: any\n"
    "    when: ['equipment == \"reefer\"', \"lane != null\"]\n"
    "  - id: cond-nested\n"                         /* 12 */
    "    effect: allow\n"
    "    verbs: [offer:nested]\n"
    "    tenant: any\n"
    "    when: [requirements.autonomyAllowed == true, stops.1 >= 2.5]\n"
    "  - id: cond-ne\n"                             /* 13 */
    "    effect: allow\n"
    "    verbs: [offer:ne]\n"
    "    tenant: any\n"
    "    when: ['region != \"us-ca\"']\n"
    "  - id: cond-null\n"                           /* 14 */
    "    effect: allow\n"
    "    verbs: [offer:null]\n"
    "    tenant: any\n"
    "    when: [cancelledAt == null]\n"
    "  - id: cond-bigint\n"                         /* 15 */
    "    effect: allow\n"
    "    verbs: [num:big]\n"
    "    tenant: any\n"
    "    when: [n == 9007199254740993]\n"
    "  - id: cond-mixed\n"                          /* 16 */
    "    effect: allow\n"
    "    verbs: [num:mixed]\n"
    "    tenant: any\n"
    "    when: [\"x == 3\", \"y < -1.5e1\", 'name == \"say \\\"hi\\\"\"']\n"
    "  - id: admin-all\n"                           /* 17 */
    "    effect: allow\n"
    "    verbs: [\"*\"]\n"
    "    roles: [admin]\n"
    "    tenant: any\n"
    "  - id: anyone-list-capacity\n"                /* 18 */
    "    effect: allow\n"
    "    verbs: [capacity:list]\n"
    "    tenant: any\n";

/* 2026-05-01 was a Friday. */
#define FRI 1777593600LL
#define DAY 86400LL
#define AT(day, h, m, s) (FRI + (day) * DAY + (h) * 3600LL + (m) * 60LL + (s))
#define NOON AT(0, 12, 0, 0)

struct row {
    const char *verb;
    const char *roles;       /* comma-separated, NULL = none */
    const char *scopes;
    const char *ptenant;
    const char *rtenant;
    const char *region;
    int64_t now;
    const char *resource;    /* JSON text, NULL = none */
    int allow;
    const char *id;
};

#define DD "default-deny"

static const struct row rows[] = {
    /* roles and tenant: same (the default) */
    {"tender:create", "tms", NULL, "acme", NULL, NULL, NOON, NULL, 1, "tms-create"},
    {"tender:create", "tms", NULL, "acme", "acme", NULL, NOON, NULL, 1, "tms-create"},
    {"tender:read", "tms", NULL, "acme", "acme", NULL, NOON, NULL, 1, "tms-create"},
    {"tender:create", "tms", NULL, "acme", "globex", NULL, NOON, NULL, 0, DD},
    {"tender:create", "tms", NULL, NULL, "", NULL, NOON, NULL, 1, "tms-create"},
    {"tender:create", "tms", NULL, "", "", NULL, NOON, NULL, 1, "tms-create"},
    {"tender:create", "tms", NULL, NULL, "acme", NULL, NOON, NULL, 0, DD},
    {"tender:create", "tms", NULL, "acme", "", NULL, NOON, NULL, 0, DD},
    {"tender:create", "provider", NULL, "acme", NULL, NULL, NOON, NULL, 0, DD},
    {"tender:create", "ghost,tms", NULL, "acme", NULL, NULL, NOON, NULL, 1, "tms-create"},
    {"tender:create", NULL, NULL, "acme", NULL, NULL, NOON, NULL, 0, DD},
    {"tender:delete", "tms", NULL, "acme", NULL, NULL, NOON, NULL, 0, DD},
    /* conditions of a deny rule; deny overrides allow */
    {"tender:create", "tms", NULL, "acme", NULL, NULL, NOON,
     "{\"hazmat\":true,\"weightLbs\":90000}", 0, "deny-heavy-hazmat"},
    {"tender:create", "tms", NULL, "acme", NULL, NULL, NOON,
     "{\"hazmat\":true,\"weightLbs\":80000}", 1, "tms-create"},
    {"tender:create", "tms", NULL, "acme", NULL, NULL, NOON,
     "{\"hazmat\":true,\"weightLbs\":80000.5}", 0, "deny-heavy-hazmat"},
    {"tender:create", "tms", NULL, "acme", NULL, NULL, NOON,
     "{\"hazmat\":false,\"weightLbs\":90000}", 1, "tms-create"},
    {"tender:create", "tms", NULL, "acme", NULL, NULL, NOON, "{\"hazmat\":true}", 1,
     "tms-create"},
    {"tender:create", "tms", NULL, "acme", NULL, NULL, NOON,
     "{\"hazmat\":\"true\",\"weightLbs\":90000}", 1, "tms-create"},
    {"tender:create", "tms", NULL, "acme", NULL, NULL, NOON,
     "{\"hazmat\":true,\"weightLbs\":\"90000\"}", 1, "tms-create"},
    {"tender:create", "blocked,tms", NULL, "acme", NULL, NULL, NOON, NULL, 0,
     "deny-blocked-role"},
    /* two deny rules apply: the first in the file decides */
    {"tender:create", "tms,blocked", NULL, "acme", NULL, NULL, NOON,
     "{\"hazmat\":true,\"weightLbs\":90000}", 0, "deny-blocked-role"},
    {"keys:rotate", "admin", NULL, NULL, NULL, NULL, NOON, NULL, 1, "admin-all"},
    {"keys:rotate", "admin,blocked", NULL, NULL, NULL, NULL, NOON, NULL, 0,
     "deny-blocked-role"},
    {"tender", "admin", NULL, NULL, NULL, NULL, NOON, NULL, 1, "admin-all"},
    {"nothing:here", "tms", NULL, NULL, NULL, NULL, NOON, NULL, 0, DD},
    {NULL, "admin", NULL, NULL, NULL, NULL, NOON, NULL, 0, DD},
    {"", "admin", NULL, NULL, NULL, NULL, NOON, NULL, 0, DD},
    /* scopes: all of */
    {"tender:transition", NULL, "tender:write,operator:act", "acme", "globex", NULL, NOON, NULL,
     1, "scoped-transition"},
    {"tender:transition", NULL, "operator:act,junk,tender:write", NULL, NULL, NULL, NOON, NULL,
     1, "scoped-transition"},
    {"tender:transition", NULL, "tender:write", NULL, NULL, NULL, NOON, NULL, 0, DD},
    {"tender:transition", "tms", NULL, NULL, NULL, NULL, NOON, NULL, 0, DD},
    /* regions and a noun wildcard; first allow in file order */
    {"capacity:publish", "provider", NULL, NULL, NULL, "us-tx", NOON, NULL, 1,
     "regional-capacity"},
    {"capacity:withdraw", "provider", NULL, NULL, NULL, "us-az", NOON, NULL, 1,
     "regional-capacity"},
    {"capacity:publish", "provider", NULL, NULL, NULL, "us-ca", NOON, NULL, 0, DD},
    {"capacity:publish", "provider", NULL, NULL, NULL, NULL, NOON, NULL, 0, DD},
    {"capacity:publish", "provider", NULL, NULL, NULL, "US-TX", NOON, NULL, 0, DD},
    {"capacity:list", NULL, NULL, NULL, NULL, NULL, NOON, NULL, 1, "anyone-list-capacity"},
    {"capacity:list", "provider", NULL, NULL, NULL, "us-az", NOON, NULL, 1,
     "regional-capacity"},
    {"capacity:list", "admin", NULL, NULL, NULL, NULL, NOON, NULL, 1, "admin-all"},
    /* tenant: a named tenant */
    {"audit:read", NULL, NULL, "acme", NULL, NULL, NOON, NULL, 1, "acme-only"},
    {"audit:read", NULL, NULL, "acme", "acme", NULL, NOON, NULL, 1, "acme-only"},
    {"audit:read", NULL, NULL, "globex", NULL, NULL, NOON, NULL, 0, DD},
    {"audit:read", NULL, NULL, "acme", "globex", NULL, NOON, NULL, 0, DD},
    {"audit:read", NULL, NULL, NULL, "acme", NULL, NOON, NULL, 0, DD},
    {"audit:read", NULL, NULL, NULL, NULL, NULL, NOON, NULL, 0, DD},
    /* time windows: weekdays 09:00-17:00, end exclusive */
    {"report:read", NULL, NULL, NULL, NULL, NULL, NOON, NULL, 1, "business-hours"},
    {"report:read", NULL, NULL, NULL, NULL, NULL, AT(0, 9, 0, 0), NULL, 1, "business-hours"},
    {"report:read", NULL, NULL, NULL, NULL, NULL, AT(0, 8, 59, 59), NULL, 0, DD},
    {"report:read", NULL, NULL, NULL, NULL, NULL, AT(0, 16, 59, 59), NULL, 1,
     "business-hours"},
    {"report:read", NULL, NULL, NULL, NULL, NULL, AT(0, 17, 0, 0), NULL, 0, DD},
    {"report:read", NULL, NULL, NULL, NULL, NULL, AT(1, 12, 0, 0), NULL, 0, DD},
    {"report:read", NULL, NULL, NULL, NULL, NULL, AT(3, 12, 0, 0), NULL, 1, "business-hours"},
    /* before 1970: Wednesday 1969-12-31 */
    {"report:read", NULL, NULL, NULL, NULL, NULL, -12 * 3600, NULL, 1, "business-hours"},
    {"report:read", NULL, NULL, NULL, NULL, NULL, -1, NULL, 0, DD},
    /* days only: the whole of Saturday and Sunday */
    {"report:weekend", NULL, NULL, NULL, NULL, NULL, AT(1, 0, 0, 0), NULL, 1, "weekend"},
    {"report:weekend", NULL, NULL, NULL, NULL, NULL, AT(0, 23, 59, 59), NULL, 0, DD},
    {"report:weekend", NULL, NULL, NULL, NULL, NULL, AT(2, 23, 59, 59), NULL, 1, "weekend"},
    {"report:weekend", NULL, NULL, NULL, NULL, NULL, AT(3, 0, 0, 0), NULL, 0, DD},
    /* hours only, ending at 24:00 */
    {"report:late", NULL, NULL, NULL, NULL, NULL, AT(0, 20, 0, 0), NULL, 1, "late"},
    {"report:late", NULL, NULL, NULL, NULL, NULL, AT(4, 23, 59, 59), NULL, 1, "late"},
    {"report:late", NULL, NULL, NULL, NULL, NULL, AT(5, 0, 0, 0), NULL, 0, DD},
    {"report:late", NULL, NULL, NULL, NULL, NULL, AT(0, 19, 59, 59), NULL, 0, DD},
    /* a deny window that wraps midnight: Friday 22:00 to Saturday 06:00 */
    {"tender:cancel", "tms", NULL, NULL, NULL, NULL, AT(0, 21, 59, 59), NULL, 1, "tms-cancel"},
    {"tender:cancel", "tms", NULL, NULL, NULL, NULL, AT(0, 22, 0, 0), NULL, 0,
     "deny-friday-night-cancel"},
    {"tender:cancel", "tms", NULL, NULL, NULL, NULL, AT(0, 23, 59, 59), NULL, 0,
     "deny-friday-night-cancel"},
    {"tender:cancel", "tms", NULL, NULL, NULL, NULL, AT(1, 0, 0, 0), NULL, 0,
     "deny-friday-night-cancel"},
    {"tender:cancel", "tms", NULL, NULL, NULL, NULL, AT(1, 5, 59, 59), NULL, 0,
     "deny-friday-night-cancel"},
    {"tender:cancel", "tms", NULL, NULL, NULL, NULL, AT(1, 6, 0, 0), NULL, 1, "tms-cancel"},
    {"tender:cancel", "tms", NULL, NULL, NULL, NULL, AT(1, 23, 0, 0), NULL, 1, "tms-cancel"},
    {"tender:cancel", "tms", NULL, NULL, NULL, NULL, AT(0, 2, 0, 0), NULL, 1, "tms-cancel"},
    {"tender:cancel", "tms", NULL, NULL, NULL, NULL, AT(7, 2, 0, 0), NULL, 1, "tms-cancel"},
    {"tender:cancel", "tms", NULL, NULL, NULL, NULL, AT(8, 2, 0, 0), NULL, 0,
     "deny-friday-night-cancel"},
    /* string and null conditions */
    {"offer:read", NULL, NULL, NULL, NULL, NULL, NOON,
     "{\"equipment\":\"reefer\",\"lane\":\"DAL-HOU\"}", 1, "cond-string"},
    {"offer:read", NULL, NULL, NULL, NULL, NULL, NOON,
     "{\"equipment\":\"reefer\",\"lane\":null}", 0, DD},
    {"offer:read", NULL, NULL, NULL, NULL, NULL, NOON, "{\"equipment\":\"reefer\"}", 0, DD},
    {"offer:read", NULL, NULL, NULL, NULL, NULL, NOON,
     "{\"equipment\":\"reefer2\",\"lane\":\"x\"}", 0, DD},
    {"offer:read", NULL, NULL, NULL, NULL, NULL, NOON,
     "{\"equipment\":\"reef\",\"lane\":\"x\"}", 0, DD},
    {"offer:read", NULL, NULL, NULL, NULL, NULL, NOON, NULL, 0, DD},
    {"offer:read", NULL, NULL, NULL, NULL, NULL, NOON, "[\"reefer\"]", 0, DD},
    {"offer:ne", NULL, NULL, NULL, NULL, NULL, NOON, "{\"region\":\"us-tx\"}", 1, "cond-ne"},
    {"offer:ne", NULL, NULL, NULL, NULL, NULL, NOON, "{\"region\":\"us-ca\"}", 0, DD},
    {"offer:ne", NULL, NULL, NULL, NULL, NULL, NOON, "{}", 0, DD},
    {"offer:ne", NULL, NULL, NULL, NULL, NULL, NOON, "{\"region\":5}", 1, "cond-ne"},
    {"offer:null", NULL, NULL, NULL, NULL, NULL, NOON, "{\"cancelledAt\":null}", 1,
     "cond-null"},
    {"offer:null", NULL, NULL, NULL, NULL, NULL, NOON, "{\"cancelledAt\":\"x\"}", 0, DD},
    {"offer:null", NULL, NULL, NULL, NULL, NULL, NOON, "{}", 0, DD},
    /* dotted paths into objects and arrays */
    {"offer:nested", NULL, NULL, NULL, NULL, NULL, NOON,
     "{\"requirements\":{\"autonomyAllowed\":true},\"stops\":[1,3]}", 1, "cond-nested"},
    {"offer:nested", NULL, NULL, NULL, NULL, NULL, NOON,
     "{\"requirements\":{\"autonomyAllowed\":true},\"stops\":[1,2.5]}", 1, "cond-nested"},
    {"offer:nested", NULL, NULL, NULL, NULL, NULL, NOON,
     "{\"requirements\":{\"autonomyAllowed\":true},\"stops\":[1,2]}", 0, DD},
    {"offer:nested", NULL, NULL, NULL, NULL, NULL, NOON,
     "{\"requirements\":{\"autonomyAllowed\":true},\"stops\":[1]}", 0, DD},
    {"offer:nested", NULL, NULL, NULL, NULL, NULL, NOON,
     "{\"requirements\":{\"autonomyAllowed\":false},\"stops\":[1,3]}", 0, DD},
    {"offer:nested", NULL, NULL, NULL, NULL, NULL, NOON,
     "{\"requirements\":true,\"stops\":[1,3]}", 0, DD},
    /* numbers: integers compare exactly, mixed ones as doubles */
    {"num:big", NULL, NULL, NULL, NULL, NULL, NOON, "{\"n\":9007199254740993}", 1,
     "cond-bigint"},
    {"num:big", NULL, NULL, NULL, NULL, NULL, NOON, "{\"n\":9007199254740992}", 0, DD},
    {"num:mixed", NULL, NULL, NULL, NULL, NULL, NOON,
     "{\"x\":3.0,\"y\":-16,\"name\":\"say \\\"hi\\\"\"}", 1, "cond-mixed"},
    {"num:mixed", NULL, NULL, NULL, NULL, NULL, NOON,
     "{\"x\":3,\"y\":-15,\"name\":\"say \\\"hi\\\"\"}", 0, DD},
    {"num:mixed", NULL, NULL, NULL, NULL, NULL, NOON,
     "{\"x\":3,\"y\":-15.5,\"name\":\"say hi\"}", 0, DD},
};

/* Split "a,b,c" into v (pointers into buf). */
static size_t split(const char *s, char *buf, size_t cap, const char **v, size_t max)
{
    size_t n = 0;
    if (!s)
        return 0;
    snprintf(buf, cap, "%s", s);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t && n < max;
         t = strtok_r(NULL, ",", &save))
        v[n++] = t;
    return n;
}

static void decide_row(const struct hg_policy *p, const struct row *r, size_t i)
{
    char rb[256], sb[256];
    const char *roles[8], *scopes[8];
    json_t *res = NULL;
    if (r->resource) {
        json_error_t je;
        res = json_loads(r->resource, JSON_DECODE_ANY, &je);
        assert_non_null(res);
    }
    struct hg_policy_input in = {
        .verb = r->verb,
        .subject = "test",
        .roles = roles,
        .nroles = split(r->roles, rb, sizeof rb, roles, 8),
        .scopes = scopes,
        .nscopes = split(r->scopes, sb, sizeof sb, scopes, 8),
        .principal_tenant = r->ptenant,
        .resource_tenant = r->rtenant,
        .region = r->region,
        .now = r->now,
        .resource = res,
    };
    struct hg_policy_decision d;
    hg_policy_eval(p, &in, &d);
    if ((d.decision == HG_POLICY_ALLOW) != r->allow || strcmp(d.policy_id, r->id) != 0)
        fail_msg("row %zu (%s): expected %s by %s, got %s by %s (%s)", i,
                 r->verb ? r->verb : "(null)", r->allow ? "allow" : "deny", r->id,
                 d.decision == HG_POLICY_ALLOW ? "allow" : "deny", d.policy_id, d.reason);
    assert_non_null(d.reason);
    assert_true(d.reason[0] != '\0');
    json_decref(res);
}

static struct hg_policy *load_str(const char *text)
{
    struct hg_policy *p = NULL;
    struct hg_err err;
    hg_status rc = hg_policy_load_mem("table.yaml", text, strlen(text), &p, &err);
    if (rc != HG_OK)
        fail_msg("load: %s", err.msg);
    return p;
}

static void decision_table(void **state)
{
    (void)state;
    struct hg_policy *p = load_str(TABLE_POLICY);
    assert_int_equal(hg_policy_rule_count(p), 19);
    assert_string_equal(hg_policy_source(p), "table.yaml");
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        decide_row(p, &rows[i], i);
    hg_policy_unref(p);
}

static void reasons(void **state)
{
    (void)state;
    struct hg_policy *p = load_str(TABLE_POLICY);
    const char *tms[] = {"tms"};
    json_t *heavy = json_pack("{s:b, s:i}", "hazmat", 1, "weightLbs", 90000);
    struct hg_policy_input in = {.verb = "tender:create", .roles = tms, .nroles = 1,
                                 .now = NOON};
    struct hg_policy_decision d;
    hg_policy_eval(p, &in, &d);
    assert_string_equal(d.reason, "allowed by rule tms-create");
    in.resource = heavy;
    hg_policy_eval(p, &in, &d);
    assert_string_equal(d.reason, "heavy hazmat needs a permit");
    in.verb = "tender:cancel";
    in.now = AT(0, 23, 0, 0);
    hg_policy_eval(p, &in, &d);
    assert_string_equal(d.reason, "denied by rule deny-friday-night-cancel");
    in.verb = "nothing:here";
    hg_policy_eval(p, &in, &d);
    assert_string_equal(d.policy_id, "default-deny");
    assert_string_equal(d.reason, "no policy rule allows this request");
    /* NULL input or policy: deny, never a crash */
    hg_policy_eval(p, NULL, &d);
    assert_int_equal(d.decision, HG_POLICY_DENY);
    hg_policy_eval(NULL, &in, &d);
    assert_int_equal(d.decision, HG_POLICY_DENY);
    json_decref(heavy);
    hg_policy_unref(p);
}

static void empty_policies(void **state)
{
    (void)state;
    struct hg_policy *p = NULL;
    const char *admin[] = {"admin"};
    struct hg_policy_input in = {.verb = "identity:read", .roles = admin, .nroles = 1};
    struct hg_policy_decision d;
    assert_int_equal(hg_policy_empty(&p), HG_OK);
    assert_int_equal(hg_policy_rule_count(p), 0);
    hg_policy_eval(p, &in, &d);
    assert_int_equal(d.decision, HG_POLICY_DENY);
    assert_string_equal(d.policy_id, "default-deny");
    assert_non_null(strstr(d.reason, "no policy is loaded"));
    hg_policy_unref(p);
    /* rules: [] is a valid policy that denies everything */
    p = load_str("version: 1\nrules: []\n");
    assert_int_equal(hg_policy_rule_count(p), 0);
    hg_policy_eval(p, &in, &d);
    assert_int_equal(d.decision, HG_POLICY_DENY);
    assert_string_equal(d.reason, "no policy rule allows this request");
    hg_policy_unref(p);
    hg_policy_unref(NULL);
}

/* ------------------------------------------------------- refcounting */

struct worker {
    struct hg_policy *p;     /* the worker's own reference */
    int allows;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    const char *tms[] = {"tms"};
    struct hg_policy_input in = {.verb = "tender:create", .roles = tms, .nroles = 1,
                                 .principal_tenant = "acme", .now = NOON};
    struct hg_policy_decision d;
    for (int i = 0; i < 20000; i++) {
        hg_policy_eval(w->p, &in, &d);
        w->allows += d.decision == HG_POLICY_ALLOW;
    }
    /* the reason stays valid while the reference is held */
    assert_string_equal(d.reason, "allowed by rule tms-create");
    hg_policy_unref(w->p);
    return NULL;
}

static void refcount(void **state)
{
    (void)state;
    struct hg_policy *p = load_str(TABLE_POLICY);
    assert_ptr_equal(hg_policy_ref(p), p);
    hg_policy_unref(p);
    assert_null(hg_policy_ref(NULL));
    /* Four threads hold references; the loader's is dropped at once, as a
     * reload would, and the last worker to finish frees the policy (ASan
     * reports a use after free or a leak if counting is wrong). */
    pthread_t t[4];
    struct worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){.p = hg_policy_ref(p)};
        assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
    }
    hg_policy_unref(p);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(w[i].allows, 20000);
    }
}

/* ------------------------------------------------ the example policy */

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(1 << 20);
    assert_non_null(buf);
    *n = fread(buf, 1, (1 << 20) - 1, f);
    buf[*n] = '\0';
    fclose(f);
    return buf;
}

static void example_policy(void **state)
{
    (void)state;
    const char *root = getenv("HG_ROOT");
    char path[4096];
    snprintf(path, sizeof path, "%s/config/policy.example.yaml", root && *root ? root : ".");
    struct hg_policy *p = NULL;
    struct hg_err err;
    if (hg_policy_load(path, &p, &err) != HG_OK)
        fail_msg("%s", err.msg);
    assert_true(hg_policy_rule_count(p) >= 7);

    static const struct {
        const char *verb, *role, *pt, *rt;
        int allow;
        const char *id;
    } ex[] = {
        {"identity:read", "tms", "acme", NULL, 1, "whoami"},
        {"identity:read", "nobody", NULL, NULL, 1, "whoami"},
        {"tender:create", "tms", "acme", NULL, 1, "tms-tenders"},
        {"tender:list", "tms", "acme", NULL, 1, "tms-tenders"},
        {"tender:read", "tms", "acme", "acme", 1, "tms-tenders"},
        {"tender:read", "tms", "acme", "globex", 0, "default-deny"},
        {"tender:match", "tms", "acme", "acme", 1, "tms-tenders"},
        {"tender:transition", "tms", "acme", "acme", 1, "tms-tenders"},
        {"tender:cancel", "tms", "acme", "acme", 1, "tms-tenders"},
        {"capacity:read", "tms", "acme", "acme", 1, "tms-read-capacity"},
        {"capacity:list", "tms", "acme", NULL, 1, "tms-read-capacity"},
        {"capacity:publish", "tms", "acme", NULL, 0, "default-deny"},
        {"capacity:publish", "provider", "acme", NULL, 1, "provider-capacity"},
        {"capacity:withdraw", "provider", "acme", "acme", 1, "provider-capacity"},
        {"capacity:list", "provider", "acme", NULL, 1, "provider-capacity"},
        {"capacity:read", "provider", "acme", "acme", 1, "provider-capacity"},
        {"tender:create", "provider", "acme", NULL, 0, "default-deny"},
        {"audit:read", "provider", NULL, NULL, 0, "default-deny"},
        {"audit:read", "tms", NULL, NULL, 0, "default-deny"},
        {"audit:read", "auditor", NULL, NULL, 1, "auditors-read-audit"},
        {"audit:read", "operator", NULL, NULL, 1, "operators"},
        {"audit:read", "admin", NULL, NULL, 1, "admins"},
        {"tender:cancel", "operator", NULL, "acme", 1, "operators"},
        {"capacity:publish", "operator", NULL, "acme", 1, "operators"},
        {"keys:rotate", "operator", NULL, NULL, 0, "default-deny"},
        {"keys:rotate", "admin", NULL, NULL, 1, "admins"},
        {"tender:transition", "admin", NULL, "globex", 1, "admins"},
        {"tender:create", "auditor", NULL, NULL, 0, "default-deny"},
    };
    for (size_t i = 0; i < sizeof ex / sizeof ex[0]; i++) {
        const char *roles[] = {ex[i].role};
        struct hg_policy_input in = {.verb = ex[i].verb, .roles = roles, .nroles = 1,
                                     .principal_tenant = ex[i].pt,
                                     .resource_tenant = ex[i].rt, .now = NOON};
        struct hg_policy_decision d;
        hg_policy_eval(p, &in, &d);
        if ((d.decision == HG_POLICY_ALLOW) != ex[i].allow || strcmp(d.policy_id, ex[i].id))
            fail_msg("example row %zu (%s as %s): expected %s, got %s", i, ex[i].verb,
                     ex[i].role, ex[i].id, d.policy_id);
    }
    /* the sample deny rule */
    const char *tms[] = {"tms"};
    json_t *t = json_pack("{s:b, s:f}", "hazmat", 1, "weightLbs", 80000.5);
    struct hg_policy_input in = {.verb = "tender:create", .roles = tms, .nroles = 1,
                                 .principal_tenant = "acme", .now = NOON, .resource = t};
    struct hg_policy_decision d;
    hg_policy_eval(p, &in, &d);
    assert_int_equal(d.decision, HG_POLICY_DENY);
    assert_string_equal(d.policy_id, "deny-heavy-hazmat-tenders");
    json_object_set_new(t, "hazmat", json_false());
    hg_policy_eval(p, &in, &d);
    assert_int_equal(d.decision, HG_POLICY_ALLOW);
    json_decref(t);
    hg_policy_unref(p);

    /* The commented-out time window, uncommented, loads too. */
    size_t n = 0;
    char *text = slurp(path, &n);
    assert_non_null(text);
    for (char *s = strstr(text, "  # - id: deny-tms-cancel-at-night"); s && *s;) {
        char *nl = strchr(s, '\n');
        if (strncmp(s, "  # ", 4) != 0)
            break;
        memmove(s + 2, s + 4, strlen(s + 4) + 1);
        s = nl ? nl - 1 : NULL;
    }
    if (hg_policy_load_mem("uncommented.yaml", text, strlen(text), &p, &err) != HG_OK)
        fail_msg("%s", err.msg);
    in.verb = "tender:cancel";
    in.resource = NULL;
    in.now = AT(0, 23, 30, 0);
    hg_policy_eval(p, &in, &d);
    assert_string_equal(d.policy_id, "deny-tms-cancel-at-night");
    in.now = AT(1, 6, 0, 0);
    hg_policy_eval(p, &in, &d);
    assert_string_equal(d.policy_id, "tms-tenders");
    hg_policy_unref(p);
    free(text);
}

/* ---------------------------------------------- differential testing */

/* A deterministic PRNG (xorshift64*), so a failure can be replayed. */
static uint64_t rng_state;

static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}

static size_t pick(size_t n)
{
    return (size_t)(rnd() % n);
}

static const char *const NOUNS[] = {"tender", "capacity", "audit", "keys", "identity", "report"};
static const char *const VERBS[] = {"create", "read", "list", "cancel", "rotate", "match"};
static const char *const ROLES[] = {"tms", "provider", "operator", "auditor", "admin",
                                    "dispatcher", "billing", "guest", "r8", "r9"};
static const char *const SCOPES[] = {"tender:write", "tender:read", "capacity:read",
                                     "capacity:write", "audit:read", "admin", "events:read"};
static const char *const TENANTS[] = {"acme", "globex", "initech", "umbrella"};
static const char *const REGIONS[] = {"us-tx", "us-az", "us-ca", "us-nm", "mx-nl"};
static const char *const DAYS[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
#define NELEM(a) (sizeof(a) / sizeof(a)[0])

enum { C_HAZ, C_WEIGHT_GT, C_WEIGHT_LE, C_EQUIP, C_EQUIP_NE, C_LANE_NULL, C_NKINDS };

struct ref_rule {
    char id[32];
    int deny;
    int nverbs;
    char verbs[4][40];
    int nroles, roles[3];            /* indexes into ROLES; 0 roles = any */
    int nscopes, scopes[2];
    int tenant;                      /* -2 same, -1 any, else TENANTS index */
    int nregions, regions[2];
    int has_time, days, start, end;  /* days bit 0 = mon; seconds of day */
    int ncond, cond[2];
    double weight;                   /* literal of weight conditions */
    int haz;                         /* literal of the hazmat condition */
    int equip;                       /* 0 reefer, 1 dry_van */
};

static void gen_rule(struct ref_rule *r, int i)
{
    memset(r, 0, sizeof *r);
    snprintf(r->id, sizeof r->id, "r%03d", i);
    r->deny = pick(5) == 0;
    r->nverbs = 1 + (int)pick(3);
    for (int k = 0; k < r->nverbs; k++) {
        size_t x = pick(20);
        if (x == 0)
            snprintf(r->verbs[k], sizeof r->verbs[k], "*");
        else if (x < 4)
            snprintf(r->verbs[k], sizeof r->verbs[k], "%s:*", NOUNS[pick(NELEM(NOUNS))]);
        else
            snprintf(r->verbs[k], sizeof r->verbs[k], "%s:%s", NOUNS[pick(NELEM(NOUNS))],
                     VERBS[pick(NELEM(VERBS))]);
        for (int j = 0; j < k; j++)
            if (!strcmp(r->verbs[j], r->verbs[k]))
                k--, r->nverbs--;    /* duplicates are refused: drop it */
    }
    if (pick(4)) {
        r->nroles = 1 + (int)pick(3);
        for (int k = 0; k < r->nroles; k++) {
            r->roles[k] = (int)pick(NELEM(ROLES));
            for (int j = 0; j < k; j++)
                if (r->roles[j] == r->roles[k])
                    k--, r->nroles--;
        }
    }
    if (pick(3) == 0) {
        r->nscopes = 1 + (int)pick(2);
        r->scopes[0] = (int)pick(NELEM(SCOPES));
        r->scopes[1] = (r->scopes[0] + 1 + (int)pick(NELEM(SCOPES) - 1)) % (int)NELEM(SCOPES);
    }
    size_t t = pick(6);
    r->tenant = t < 3 ? -2 : t < 5 ? -1 : (int)pick(NELEM(TENANTS));
    if (pick(4) == 0) {
        r->nregions = 1 + (int)pick(2);
        r->regions[0] = (int)pick(NELEM(REGIONS));
        r->regions[1] = (r->regions[0] + 1 + (int)pick(NELEM(REGIONS) - 1)) %
                        (int)NELEM(REGIONS);
    }
    if (pick(5) == 0) {
        r->has_time = 1;
        r->days = pick(3) ? (int)(1 + pick(127)) : 127;
        if (pick(3)) {
            r->start = (int)pick(24 * 4) * 900;
            do
                r->end = (int)(1 + pick(24 * 4)) * 900;
            while (r->end == r->start);
        } else {
            r->start = 0;
            r->end = 86400;
        }
    }
    if (pick(3) == 0) {
        r->ncond = 1 + (int)pick(2);
        r->cond[0] = (int)pick(C_NKINDS);
        r->cond[1] = (r->cond[0] + 1 + (int)pick(C_NKINDS - 1)) % C_NKINDS;
        r->weight = (double)(20000 + 10000 * pick(8)) + (pick(2) ? 0.5 : 0);
        r->haz = (int)pick(2);
        r->equip = (int)pick(2);
    }
}

static void emit_list(struct hg_buf *b, const char *key, const char *const *names,
                      const int *idx, int n)
{
    hg_buf_printf(b, "    %s: [", key);
    for (int k = 0; k < n; k++)
        hg_buf_printf(b, "%s\"%s\"", k ? ", " : "", names[idx[k]]);
    hg_buf_puts(b, "]\n");
}

static void emit_rule(struct hg_buf *b, const struct ref_rule *r)
{
    hg_buf_printf(b, "  - id: %s\n    effect: %s\n    verbs: [", r->id,
                  r->deny ? "deny" : "allow");
    for (int k = 0; k < r->nverbs; k++)
        hg_buf_printf(b, "%s\"%s\"", k ? ", " : "", r->verbs[k]);
    hg_buf_puts(b, "]\n");
    if (r->nroles)
        emit_list(b, "roles", ROLES, r->roles, r->nroles);
    if (r->nscopes)
        emit_list(b, "scopes", SCOPES, r->scopes, r->nscopes);
    if (r->tenant == -1)
        hg_buf_puts(b, "    tenant: any\n");
    else if (r->tenant >= 0)
        hg_buf_printf(b, "    tenant: %s\n", TENANTS[r->tenant]);
    else if (pick(2))
        hg_buf_puts(b, "    tenant: same\n");
    if (r->nregions)
        emit_list(b, "regions", REGIONS, r->regions, r->nregions);
    if (r->has_time) {
        hg_buf_puts(b, "    time:\n");
        if (r->days != 127 || pick(2)) {
            hg_buf_puts(b, "      days: [");
            for (int d = 0, first = 1; d < 7; d++)
                if (r->days & (1 << d)) {
                    hg_buf_printf(b, "%s%s", first ? "" : ", ", DAYS[d]);
                    first = 0;
                }
            hg_buf_puts(b, "]\n");
        }
        if (r->start != 0 || r->end != 86400 || r->days == 127)
            hg_buf_printf(b, "      hours: \"%02d:%02d-%02d:%02d\"\n", r->start / 3600,
                          r->start / 60 % 60, r->end / 3600, r->end / 60 % 60);
    }
    if (r->ncond) {
        hg_buf_puts(b, "    when:\n");
        for (int k = 0; k < r->ncond; k++) {
            switch (r->cond[k]) {
            case C_HAZ:
                hg_buf_printf(b, "      - \"hazmat == %s\"\n", r->haz ? "true" : "false");
                break;
            case C_WEIGHT_GT:
                hg_buf_printf(b, "      - \"weightLbs > %g\"\n", r->weight);
                break;
            case C_WEIGHT_LE:
                hg_buf_printf(b, "      - weightLbs <= %g\n", r->weight);
                break;
            case C_EQUIP:
                hg_buf_printf(b, "      - 'equipment == \"%s\"'\n",
                              r->equip ? "dry_van" : "reefer");
                break;
            case C_EQUIP_NE:
                hg_buf_printf(b, "      - 'equipment != \"%s\"'\n",
                              r->equip ? "dry_van" : "reefer");
                break;
            default:
                hg_buf_puts(b, "      - lane == null\n");
                break;
            }
        }
    }
}

struct ref_input {
    char verb[40];
    int nroles, roles[4];            /* indexes; may name roles the policy lacks */
    int nscopes, scopes[4];
    int pt, rt;                      /* -1 none/NULL, -2 "" (rt only), else TENANTS */
    int region;                      /* -1 none, else REGIONS, NELEM = an unknown one */
    int64_t now;
    json_t *res;
};

static const char *ROLE_EXTRA = "stranger";

static bool ref_verb(const struct ref_rule *r, const char *verb)
{
    for (int k = 0; k < r->nverbs; k++) {
        const char *v = r->verbs[k];
        size_t n = strlen(v);
        if (!strcmp(v, "*") || !strcmp(v, verb))
            return true;
        if (v[n - 1] == '*' && !strncmp(v, verb, n - 1))
            return true;
    }
    return false;
}

static bool ref_cond(int kind, const struct ref_rule *r, const json_t *res)
{
    const json_t *v;
    switch (kind) {
    case C_HAZ:
        v = json_object_get(res, "hazmat");
        return v && json_is_boolean(v) && json_is_true(v) == r->haz;
    case C_WEIGHT_GT:
    case C_WEIGHT_LE:
        v = json_object_get(res, "weightLbs");
        if (!v || !json_is_number(v))
            return false;
        return kind == C_WEIGHT_GT ? json_number_value(v) > r->weight
                                   : json_number_value(v) <= r->weight;
    case C_EQUIP:
    case C_EQUIP_NE: {
        v = json_object_get(res, "equipment");
        if (!v)
            return false;
        const char *want = r->equip ? "dry_van" : "reefer";
        bool eq = json_is_string(v) && !strcmp(json_string_value(v), want);
        return kind == C_EQUIP ? eq : !eq;
    }
    default:
        v = json_object_get(res, "lane");
        return v && json_is_null(v);
    }
}

static bool ref_applies(const struct ref_rule *r, const struct ref_input *in)
{
    if (!ref_verb(r, in->verb))
        return false;
    if (r->nroles) {
        bool any = false;
        for (int k = 0; k < r->nroles && !any; k++)
            for (int j = 0; j < in->nroles; j++)
                any |= in->roles[j] == r->roles[k];
        if (!any)
            return false;
    }
    for (int k = 0; k < r->nscopes; k++) {
        bool have = false;
        for (int j = 0; j < in->nscopes; j++)
            have |= in->scopes[j] == r->scopes[k];
        if (!have)
            return false;
    }
    if (r->tenant != -1) {
        bool same;
        if (in->rt == -1)
            same = true;
        else if (in->pt == -1)
            same = in->rt == -2;
        else
            same = in->rt == in->pt;
        if (!same || (r->tenant >= 0 && in->pt != r->tenant))
            return false;
    }
    if (r->nregions) {
        bool in_list = false;
        for (int k = 0; k < r->nregions; k++)
            in_list |= in->region == r->regions[k];
        if (!in_list)
            return false;
    }
    if (r->has_time) {
        time_t t = (time_t)in->now;
        struct tm tm;
        gmtime_r(&t, &tm);
        int sod = tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
        int today = (tm.tm_wday + 6) % 7;   /* tm: 0 = Sunday; here 0 = Monday */
        int day;
        if (r->start < r->end) {
            if (sod < r->start || sod >= r->end)
                return false;
            day = today;
        } else if (sod >= r->start) {
            day = today;
        } else if (sod < r->end) {
            day = (today + 6) % 7;
        } else {
            return false;
        }
        if (!(r->days & (1 << day)))
            return false;
    }
    for (int k = 0; k < r->ncond; k++)
        if (!in->res || !ref_cond(r->cond[k], r, in->res))
            return false;
    return true;
}

static void ref_eval(const struct ref_rule *rules, int n, const struct ref_input *in,
                     int *allow, const char **id)
{
    *allow = 0;
    *id = "default-deny";
    if (!in->verb[0])
        return;
    for (int i = 0; i < n; i++)
        if (rules[i].deny && ref_applies(&rules[i], in)) {
            *id = rules[i].id;
            return;
        }
    for (int i = 0; i < n; i++)
        if (!rules[i].deny && ref_applies(&rules[i], in)) {
            *allow = 1;
            *id = rules[i].id;
            return;
        }
}

static void gen_input(struct ref_input *in)
{
    memset(in, 0, sizeof *in);
    size_t x = pick(30);
    if (x == 0)
        snprintf(in->verb, sizeof in->verb, "%s", "");
    else if (x == 1)
        snprintf(in->verb, sizeof in->verb, "zzz:%s", VERBS[pick(NELEM(VERBS))]);
    else
        snprintf(in->verb, sizeof in->verb, "%s:%s", NOUNS[pick(NELEM(NOUNS))],
                 VERBS[pick(NELEM(VERBS))]);
    in->nroles = (int)pick(4);
    for (int k = 0; k < in->nroles; k++)
        in->roles[k] = (int)pick(NELEM(ROLES) + 1);   /* NELEM = ROLE_EXTRA */
    in->nscopes = (int)pick(5);
    for (int k = 0; k < in->nscopes; k++)
        in->scopes[k] = (int)pick(NELEM(SCOPES));
    in->pt = pick(4) == 0 ? -1 : (int)pick(NELEM(TENANTS));
    size_t r = pick(6);
    in->rt = r == 0 ? -1 : r == 1 ? -2 : r == 2 ? in->pt : (int)pick(NELEM(TENANTS));
    if (in->rt == -1 && r == 2)
        in->rt = -2;
    in->region = pick(5) == 0 ? -1 : (int)pick(NELEM(REGIONS) + 1);
    /* Any second of a few weeks around 2026, and some before 1970. */
    in->now = pick(10) == 0 ? -(int64_t)pick(86400 * 30)
                            : 1767225600 + (int64_t)pick(86400 * 60);
    if (pick(4)) {
        in->res = json_object();
        if (pick(4))
            json_object_set_new(in->res, "hazmat", pick(8) ? json_boolean(pick(2))
                                                           : json_string("true"));
        if (pick(4))
            json_object_set_new(in->res, "weightLbs",
                                pick(2) ? json_integer((json_int_t)(15000 + 5000 * pick(20)))
                                        : json_real(15000.5 + 5000.0 * (double)pick(20)));
        if (pick(4))
            json_object_set_new(in->res, "equipment",
                                pick(8) ? json_string(pick(2) ? "reefer" : "dry_van")
                                        : json_integer(3));
        if (pick(2))
            json_object_set_new(in->res, "lane", pick(2) ? json_null() : json_string("A-B"));
    }
}

static void differential(void **state)
{
    (void)state;
    enum { NRULES = 200, NINPUTS = 5000, NPOLICIES = 4 };
    static struct ref_rule rules[NRULES];
    size_t allows = 0, denies_by_rule = 0, defaults = 0;
    for (int round = 0; round < NPOLICIES; round++) {
        rng_state = 0x9e3779b97f4a7c15ull + (uint64_t)round;
        struct hg_buf b;
        hg_buf_init(&b, 1 << 20);
        hg_buf_puts(&b, "version: 1\nrules:\n");
        for (int i = 0; i < NRULES; i++) {
            gen_rule(&rules[i], i);
            emit_rule(&b, &rules[i]);
        }
        struct hg_policy *p = NULL;
        struct hg_err err;
        if (hg_policy_load_mem("random.yaml", b.data, b.len, &p, &err) != HG_OK)
            fail_msg("round %d: %s", round, err.msg);
        assert_int_equal(hg_policy_rule_count(p), NRULES);
        for (int i = 0; i < NINPUTS; i++) {
            struct ref_input in;
            gen_input(&in);
            const char *roles[4], *scopes[4];
            for (int k = 0; k < in.nroles; k++)
                roles[k] = in.roles[k] == (int)NELEM(ROLES) ? ROLE_EXTRA : ROLES[in.roles[k]];
            for (int k = 0; k < in.nscopes; k++)
                scopes[k] = SCOPES[in.scopes[k]];
            struct hg_policy_input pin = {
                .verb = in.verb,
                .roles = roles,
                .nroles = (size_t)in.nroles,
                .scopes = scopes,
                .nscopes = (size_t)in.nscopes,
                .principal_tenant = in.pt >= 0 ? TENANTS[in.pt] : NULL,
                .resource_tenant = in.rt >= 0 ? TENANTS[in.rt] : in.rt == -2 ? "" : NULL,
                .region = in.region < 0                     ? NULL
                          : in.region == (int)NELEM(REGIONS) ? "eu-de"
                                                             : REGIONS[in.region],
                .now = in.now,
                .resource = in.res,
            };
            struct hg_policy_decision d;
            hg_policy_eval(p, &pin, &d);
            int allow;
            const char *id;
            ref_eval(rules, NRULES, &in, &allow, &id);
            if ((d.decision == HG_POLICY_ALLOW) != allow || strcmp(d.policy_id, id) != 0) {
                char *res = in.res ? json_dumps(in.res, JSON_COMPACT) : NULL;
                fail_msg("round %d input %d (%s, now %lld, resource %s): engine %s by %s, "
                         "reference %s by %s", round, i, in.verb, (long long)in.now,
                         res ? res : "none", d.decision ? "allow" : "deny", d.policy_id,
                         allow ? "allow" : "deny", id);
            }
            if (allow)
                allows++;
            else if (strcmp(id, "default-deny"))
                denies_by_rule++;
            else
                defaults++;
            json_decref(in.res);
        }
        hg_policy_unref(p);
        hg_buf_cleanup(&b);
    }
    /* The generator must exercise all three outcomes, or the comparison
     * proves little. */
    assert_true(allows > 1000);
    assert_true(denies_by_rule > 500);
    assert_true(defaults > 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decision_table),
        cmocka_unit_test(reasons),
        cmocka_unit_test(empty_policies),
        cmocka_unit_test(refcount),
        cmocka_unit_test(example_policy),
        cmocka_unit_test(differential),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
