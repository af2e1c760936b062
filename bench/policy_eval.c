/* SPDX-License-Identifier: Apache-2.0
 *
 * policy_eval.c — ABAC decisions per second on one thread, beside a
 * baseline in the same run. A 200-rule policy is generated with a
 * realistic mix (about 40 verbs over 10 nouns, a few noun:* and * rules,
 * 20 roles, scopes on some rules, tenant same/any/named, regions, time
 * windows including ones that wrap midnight, and `when` conditions on
 * tender attributes), written as YAML and loaded with hg_policy_load_mem.
 * A stream of 4096 varied requests (known and unknown verbs, 1-3 roles,
 * 0-5 scopes, tenants, regions, times across two weeks, tender-like
 * resources) is then decided for --duration seconds (default 2) by:
 *   compiled — hg_policy_eval (interned bit sets, rules indexed by verb);
 *   naive    — the baseline: a straightforward interpreter over the same
 *              rules kept as strings, compiled into this program: every
 *              rule in file order, strcmp for verbs/roles/scopes/tenants/
 *              regions, gmtime_r for time windows, the same pre-parsed
 *              conditions. It is what an implementation without a compile
 *              step does; both must agree on every request (checked first).
 * Prints decisions/s for both, the ratio, and the target (>= 1,000,000/s).
 * Usage: policy_eval [--duration SECONDS] [--rules N] [--dump FILE]
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/util.h"
#include "policy/policy.h"

#define NINPUTS 4096
#define MAX_RULES 2000

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint64_t rnd(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 2685821657736338717ull;
}

static size_t pick(size_t n)
{
    return (size_t)(rnd() % n);
}

#define NELEM(a) (sizeof(a) / sizeof(a)[0])

static const char *const NOUNS[] = {"tender", "capacity", "audit", "identity", "keys",
                                    "telemetry", "events", "provider", "dlq", "vehicle"};
static const char *const ACTIONS[] = {"create", "read", "list", "cancel"};
static const char *const ACTIONS2[] = {"match", "transition", "publish", "withdraw",
                                       "rotate", "replay"};
static const char *const ROLES[] = {"tms", "provider", "operator", "auditor", "admin",
                                    "dispatcher", "billing", "support", "fleet-manager",
                                    "safety", "planner", "carrier", "broker", "shipper",
                                    "analyst", "sre", "security", "integration", "readonly",
                                    "partner"};
static const char *const SCOPES[] = {"tender:write", "tender:read", "capacity:write",
                                     "capacity:read", "events:read", "telemetry:write",
                                     "telemetry:read", "provider:callback", "operator:act",
                                     "audit:read", "admin"};
static const char *const TENANTS[] = {"acme", "globex", "initech", "umbrella", "hooli",
                                      "vandelay", "stark", "wayne", "wonka", "tyrell"};
static const char *const REGIONS[] = {"us-tx", "us-az", "us-ca", "us-nm", "us-ok",
                                      "us-la", "us-ga", "us-fl", "mx-nl", "ca-on"};
static const char *const DAYS[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

/* ------------------------------------------------------------ the rules */

enum { C_HAZ, C_HEAVY, C_LIGHT, C_REEFER, C_NOT_VAN, C_NKINDS };

struct rule {
    char id[16];
    bool deny;
    int nverbs;
    char verbs[4][40];
    int nroles;
    const char *roles[3];
    int nscopes;
    const char *scopes[2];
    int tenant;                      /* -2 same, -1 any, else TENANTS index */
    int nregions;
    const char *regions[3];
    bool has_time;
    int days, start, end;            /* days bit 0 = Monday; seconds of day */
    int ncond, cond[2];
    double weight;
};

static struct rule rules[MAX_RULES];
static int nrules = 200;

static void verb_name(char *out, size_t cap)
{
    const char *noun = NOUNS[pick(NELEM(NOUNS))];
    /* four common actions on every noun, plus one or two of the others */
    const char *act = pick(3) ? ACTIONS[pick(NELEM(ACTIONS))] : ACTIONS2[pick(NELEM(ACTIONS2))];
    snprintf(out, cap, "%s:%s", noun, act);
}

static void gen_rules(void)
{
    for (int i = 0; i < nrules; i++) {
        struct rule *r = &rules[i];
        memset(r, 0, sizeof *r);
        snprintf(r->id, sizeof r->id, "rule-%03d", i);
        r->deny = pick(5) == 0;
        r->nverbs = 1 + (int)pick(4);
        for (int k = 0; k < r->nverbs; k++) {
            size_t x = pick(100);
            if (x == 0)
                snprintf(r->verbs[k], sizeof r->verbs[k], "*");
            else if (x < 6)
                snprintf(r->verbs[k], sizeof r->verbs[k], "%s:*", NOUNS[pick(NELEM(NOUNS))]);
            else
                verb_name(r->verbs[k], sizeof r->verbs[k]);
            for (int j = 0; j < k; j++)
                if (!strcmp(r->verbs[j], r->verbs[k])) {
                    k--;
                    r->nverbs--;
                    break;
                }
        }
        if (pick(10)) {
            r->nroles = 1 + (int)pick(3);
            for (int k = 0; k < r->nroles; k++) {
                r->roles[k] = ROLES[pick(NELEM(ROLES))];
                for (int j = 0; j < k; j++)
                    if (r->roles[j] == r->roles[k]) {
                        k--;
                        r->nroles--;
                        break;
                    }
            }
        }
        if (pick(10) < 3) {
            r->nscopes = 1 + (int)pick(2);
            size_t a = pick(NELEM(SCOPES));
            r->scopes[0] = SCOPES[a];
            r->scopes[1] = SCOPES[(a + 1 + pick(NELEM(SCOPES) - 1)) % NELEM(SCOPES)];
        }
        size_t t = pick(10);
        r->tenant = t < 6 ? -2 : t < 9 ? -1 : (int)pick(NELEM(TENANTS));
        if (pick(5) == 0) {
            r->nregions = 1 + (int)pick(3);
            size_t a = pick(NELEM(REGIONS));
            for (int k = 0; k < r->nregions; k++)
                r->regions[k] = REGIONS[(a + (size_t)k) % NELEM(REGIONS)];
        }
        if (pick(10) == 0) {
            r->has_time = true;
            r->days = pick(2) ? 0x1f : (int)(1 + pick(127));        /* weekdays or random */
            r->start = (int)pick(24) * 3600;
            do
                r->end = (int)(1 + pick(24)) * 3600;
            while (r->end == r->start);                            /* may wrap midnight */
        }
        if (pick(100) < 15) {
            r->ncond = 1 + (int)pick(2);
            r->cond[0] = (int)pick(C_NKINDS);
            r->cond[1] = (r->cond[0] + 1 + (int)pick(C_NKINDS - 1)) % C_NKINDS;
            r->weight = 20000.0 + 10000.0 * (double)pick(7);
        }
    }
}

static void emit(struct hg_buf *b)
{
    hg_buf_puts(b, "version: 1\nrules:\n");
    for (int i = 0; i < nrules; i++) {
        const struct rule *r = &rules[i];
        hg_buf_printf(b, "  - id: %s\n    effect: %s\n    verbs: [", r->id,
                      r->deny ? "deny" : "allow");
        for (int k = 0; k < r->nverbs; k++)
            hg_buf_printf(b, "%s\"%s\"", k ? ", " : "", r->verbs[k]);
        hg_buf_puts(b, "]\n");
        if (r->nroles) {
            hg_buf_puts(b, "    roles: [");
            for (int k = 0; k < r->nroles; k++)
                hg_buf_printf(b, "%s%s", k ? ", " : "", r->roles[k]);
            hg_buf_puts(b, "]\n");
        }
        if (r->nscopes) {
            hg_buf_puts(b, "    scopes: [");
            for (int k = 0; k < r->nscopes; k++)
                hg_buf_printf(b, "%s\"%s\"", k ? ", " : "", r->scopes[k]);
            hg_buf_puts(b, "]\n");
        }
        if (r->tenant == -1)
            hg_buf_puts(b, "    tenant: any\n");
        else if (r->tenant >= 0)
            hg_buf_printf(b, "    tenant: %s\n", TENANTS[r->tenant]);
        if (r->nregions) {
            hg_buf_puts(b, "    regions: [");
            for (int k = 0; k < r->nregions; k++)
                hg_buf_printf(b, "%s%s", k ? ", " : "", r->regions[k]);
            hg_buf_puts(b, "]\n");
        }
        if (r->has_time) {
            hg_buf_puts(b, "    time: {days: [");
            for (int d = 0, first = 1; d < 7; d++)
                if (r->days & (1 << d)) {
                    hg_buf_printf(b, "%s%s", first ? "" : ", ", DAYS[d]);
                    first = 0;
                }
            hg_buf_printf(b, "], hours: \"%02d:00-%02d:00\"}\n", r->start / 3600,
                          r->end / 3600);
        }
        if (r->ncond) {
            hg_buf_puts(b, "    when: [");
            for (int k = 0; k < r->ncond; k++) {
                if (k)
                    hg_buf_puts(b, ", ");
                switch (r->cond[k]) {
                case C_HAZ:
                    hg_buf_puts(b, "\"hazmat == true\"");
                    break;
                case C_HEAVY:
                    hg_buf_printf(b, "\"weightLbs > %.0f\"", r->weight);
                    break;
                case C_LIGHT:
                    hg_buf_printf(b, "\"weightLbs <= %.0f\"", r->weight);
                    break;
                case C_REEFER:
                    hg_buf_puts(b, "'equipment == \"reefer\"'");
                    break;
                default:
                    hg_buf_puts(b, "'equipment != \"dry_van\"'");
                    break;
                }
            }
            hg_buf_puts(b, "]\n");
        }
    }
}

/* ------------------------------------------------------------- requests */

struct request {
    char verb[40];
    const char *roles[3];
    const char *scopes[5];
    struct hg_policy_input in;
};

static struct request reqs[NINPUTS];

static void gen_requests(void)
{
    for (int i = 0; i < NINPUTS; i++) {
        struct request *q = &reqs[i];
        struct hg_policy_input *in = &q->in;
        memset(q, 0, sizeof *q);
        if (pick(10) == 0)
            snprintf(q->verb, sizeof q->verb, "unknown:%s", ACTIONS[pick(NELEM(ACTIONS))]);
        else
            verb_name(q->verb, sizeof q->verb);
        in->verb = q->verb;
        in->subject = "bench-client";
        in->nroles = 1 + pick(3);
        for (size_t k = 0; k < in->nroles; k++)
            q->roles[k] = ROLES[pick(NELEM(ROLES))];
        in->roles = q->roles;
        in->nscopes = pick(6);
        for (size_t k = 0; k < in->nscopes; k++)
            q->scopes[k] = SCOPES[pick(NELEM(SCOPES))];
        in->scopes = q->scopes;
        in->principal_tenant = pick(5) ? TENANTS[pick(NELEM(TENANTS))] : NULL;
        size_t r = pick(4);
        in->resource_tenant = r == 0   ? NULL
                              : r == 1 ? (in->principal_tenant ? in->principal_tenant : "")
                              : r == 2 ? TENANTS[pick(NELEM(TENANTS))]
                                       : (in->principal_tenant ? in->principal_tenant : "");
        in->region = pick(4) ? REGIONS[pick(NELEM(REGIONS))] : NULL;
        in->now = 1777593600 + (int64_t)pick(14 * 86400);
        if (pick(3)) {
            json_t *t = json_object();
            json_object_set_new(t, "hazmat", json_boolean(pick(5) == 0));
            json_object_set_new(t, "weightLbs", json_integer((json_int_t)(5000 + pick(80) * 1000)));
            json_object_set_new(t, "equipment",
                                json_string(pick(2) ? "reefer" : pick(2) ? "dry_van" : "flatbed"));
            json_object_set_new(t, "lane", json_string("DAL-HOU"));
            json_object_set_new(t, "region", json_string(REGIONS[pick(NELEM(REGIONS))]));
            in->resource = t;
        }
    }
}

/* --------------------------------------------- the baseline interpreter */

static bool has(const char *const *v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], s) == 0)
            return true;
    return false;
}

static bool naive_cond(const struct rule *r, int kind, const json_t *res)
{
    const json_t *v;
    switch (kind) {
    case C_HAZ:
        v = json_object_get(res, "hazmat");
        return v && json_is_true(v);
    case C_HEAVY:
    case C_LIGHT:
        v = json_object_get(res, "weightLbs");
        if (!v || !json_is_number(v))
            return false;
        return kind == C_HEAVY ? json_number_value(v) > r->weight
                               : json_number_value(v) <= r->weight;
    case C_REEFER:
        v = json_object_get(res, "equipment");
        return v && json_is_string(v) && strcmp(json_string_value(v), "reefer") == 0;
    default:
        v = json_object_get(res, "equipment");
        return v && !(json_is_string(v) && strcmp(json_string_value(v), "dry_van") == 0);
    }
}

static bool naive_applies(const struct rule *r, const struct hg_policy_input *in)
{
    bool verb = false;
    for (int k = 0; k < r->nverbs && !verb; k++) {
        const char *v = r->verbs[k];
        size_t n = strlen(v);
        verb = strcmp(v, "*") == 0 || strcmp(v, in->verb) == 0 ||
               (v[n - 1] == '*' && strncmp(v, in->verb, n - 1) == 0);
    }
    if (!verb)
        return false;
    if (r->nroles) {
        bool any = false;
        for (int k = 0; k < r->nroles && !any; k++)
            any = has(in->roles, in->nroles, r->roles[k]);
        if (!any)
            return false;
    }
    for (int k = 0; k < r->nscopes; k++)
        if (!has(in->scopes, in->nscopes, r->scopes[k]))
            return false;
    if (r->tenant != -1) {
        const char *pt = in->principal_tenant && *in->principal_tenant ? in->principal_tenant
                                                                       : NULL;
        bool same = !in->resource_tenant ||
                    (pt ? strcmp(pt, in->resource_tenant) == 0 : !*in->resource_tenant);
        if (!same || (r->tenant >= 0 && (!pt || strcmp(pt, TENANTS[r->tenant]) != 0)))
            return false;
    }
    if (r->nregions && (!in->region || !has(r->regions, (size_t)r->nregions, in->region)))
        return false;
    if (r->has_time) {
        time_t t = (time_t)in->now;
        struct tm tm;
        gmtime_r(&t, &tm);
        int sod = tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
        int today = (tm.tm_wday + 6) % 7, day;
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
        if (!in->resource || !naive_cond(r, r->cond[k], in->resource))
            return false;
    return true;
}

static void naive_eval(const struct hg_policy_input *in, struct hg_policy_decision *d)
{
    d->decision = HG_POLICY_DENY;
    d->policy_id = "default-deny";
    d->reason = "no policy rule allows this request";
    for (int i = 0; i < nrules; i++)
        if (rules[i].deny && naive_applies(&rules[i], in)) {
            d->policy_id = rules[i].id;
            d->reason = "denied";
            return;
        }
    for (int i = 0; i < nrules; i++)
        if (!rules[i].deny && naive_applies(&rules[i], in)) {
            d->decision = HG_POLICY_ALLOW;
            d->policy_id = rules[i].id;
            d->reason = "allowed";
            return;
        }
}

/* ------------------------------------------------------------- timing */

static double now_s(void)
{
    return (double)hg_mono_us() / 1e6;
}

static volatile uintptr_t sink;

static double run_compiled(const struct hg_policy *p, double secs, uint64_t *count)
{
    struct hg_policy_decision d;
    uint64_t n = 0;
    uintptr_t acc = 0;
    double t0 = now_s(), t;
    do {
        for (int i = 0; i < NINPUTS; i++) {
            hg_policy_eval(p, &reqs[i].in, &d);
            acc += (uintptr_t)d.policy_id + d.decision;
        }
        n += NINPUTS;
        t = now_s();
    } while (t - t0 < secs);
    sink = acc;
    *count = n;
    return t - t0;
}

static double run_naive(double secs, uint64_t *count)
{
    struct hg_policy_decision d;
    uint64_t n = 0;
    uintptr_t acc = 0;
    double t0 = now_s(), t;
    do {
        for (int i = 0; i < NINPUTS; i++) {
            naive_eval(&reqs[i].in, &d);
            acc += (uintptr_t)d.policy_id + d.decision;
        }
        n += NINPUTS;
        t = now_s();
    } while (t - t0 < secs);
    sink = acc;
    *count = n;
    return t - t0;
}

int main(int argc, char **argv)
{
    double secs = 2.0;
    const char *dump = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--duration") && i + 1 < argc) {
            secs = strtod(argv[++i], NULL);
        } else if (!strcmp(argv[i], "--rules") && i + 1 < argc) {
            nrules = (int)strtol(argv[++i], NULL, 10);
        } else if (!strcmp(argv[i], "--dump") && i + 1 < argc) {
            dump = argv[++i];
        } else {
            fprintf(stderr, "usage: policy_eval [--duration SECONDS] [--rules N] [--dump FILE]\n");
            return 2;
        }
    }
    if (!(secs > 0 && secs <= 600) || nrules < 1 || nrules > MAX_RULES) {
        fprintf(stderr, "policy_eval: --duration must be in (0, 600] and --rules in 1..%d\n",
                MAX_RULES);
        return 2;
    }
    gen_rules();
    gen_requests();
    struct hg_buf b;
    hg_buf_init(&b, HG_POLICY_MAX_BYTES);
    emit(&b);
    if (dump) {
        FILE *f = fopen(dump, "w");
        if (f) {
            fwrite(b.data, 1, b.len, f);
            fclose(f);
        }
    }
    struct hg_policy *p = NULL;
    struct hg_err err;
    double t0 = now_s();
    if (hg_policy_load_mem("generated.yaml", b.data, b.len, &p, &err) != HG_OK) {
        fprintf(stderr, "policy_eval: the generated policy does not load: %s\n", err.msg);
        return 1;
    }
    double load_ms = (now_s() - t0) * 1000;

    /* Both evaluators must agree before their speeds mean anything. */
    size_t allow = 0, deny_rule = 0, deny_default = 0, mismatch = 0;
    for (int i = 0; i < NINPUTS; i++) {
        struct hg_policy_decision a, n;
        hg_policy_eval(p, &reqs[i].in, &a);
        naive_eval(&reqs[i].in, &n);
        if (a.decision != n.decision || strcmp(a.policy_id, n.policy_id) != 0) {
            if (mismatch++ < 3)
                fprintf(stderr, "policy_eval: request %d (%s): compiled %s, naive %s\n", i,
                        reqs[i].in.verb, a.policy_id, n.policy_id);
        }
        if (a.decision == HG_POLICY_ALLOW)
            allow++;
        else if (strcmp(a.policy_id, "default-deny"))
            deny_rule++;
        else
            deny_default++;
    }
    printf("policy: %d rules (%zu bytes of YAML, loaded and compiled in %.2f ms), %d requests "
           "decided in a loop on one thread for %.1f s each\n", nrules, b.len, load_ms,
           NINPUTS, secs);
    printf("decisions: %.1f%% allow, %.1f%% deny by a rule, %.1f%% default deny; compiled and "
           "naive %s\n", 100.0 * (double)allow / NINPUTS, 100.0 * (double)deny_rule / NINPUTS,
           100.0 * (double)deny_default / NINPUTS,
           mismatch ? "DISAGREE (see above)" : "agree on every request");

    uint64_t nc, nn;
    (void)run_compiled(p, secs / 4, &nc);   /* warm caches and frequency */
    double tc = run_compiled(p, secs, &nc);
    double tn = run_naive(secs, &nn);
    double rc = (double)nc / tc, rn = (double)nn / tn;
    printf("compiled (hg_policy_eval):  %12.0f decisions/s  %8.1f ns/decision\n", rc, 1e9 / rc);
    printf("naive linear interpreter:   %12.0f decisions/s  %8.1f ns/decision\n", rn, 1e9 / rn);
    printf("ratio compiled/naive: %.1f\n", rc / rn);
    printf("target >= 1,000,000 decisions/s on one core: %s\n",
           rc >= 1e6 ? "met" : "NOT met");

    for (int i = 0; i < NINPUTS; i++)
        json_decref((json_t *)reqs[i].in.resource);
    hg_policy_unref(p);
    hg_buf_cleanup(&b);
    return mismatch ? 1 : 0;
}
