/* SPDX-License-Identifier: Apache-2.0
 *
 * ctl_pki.c — `haulctl pki`: init, issue, revoke, crl, show over the
 * development PKI in tls/pki. Verbs and options are two tables; parsing is
 * re-entrant (no getopt state), so tests call hg_ctl_pki() directly. Exit
 * codes: 0 done, 1 the operation failed ("haulctl pki: <what failed>: <why>;
 * <what to do>"), 2 usage error (a message and the verb's usage line).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/ctl.h"
#include "common/err.h"
#include "common/util.h"
#include "tls/pki.h"

enum {
    OPT_FORCE = 1u << 0,
    OPT_URI = 1u << 1,
    OPT_DNS = 1u << 2,
    OPT_DAYS = 1u << 3,
    OPT_SERVER = 1u << 4,
    OPT_REASON = 1u << 5,
    OPT_IP = 1u << 6,
};

static const struct opt {
    const char *name;
    unsigned bit;
    int has_arg;
} opts[] = {
    {"--force", OPT_FORCE, 0},
    {"--uri", OPT_URI, 1},
    {"--dns", OPT_DNS, 1},
    {"--days", OPT_DAYS, 1},
    {"--server", OPT_SERVER, 0},
    {"--reason", OPT_REASON, 1},
    {"--ip", OPT_IP, 1},
};

struct verb;

struct args {
    const struct verb *verb;
    const char *dir;
    const char *name;
    unsigned seen;
    const char *uri;
    const char *dns[HG_PKI_MAX_DNS];
    size_t ndns;
    const char *ips[HG_PKI_MAX_IPS];
    size_t nips;
    const char *days;
    const char *reason;
};

struct verb {
    const char *name;
    int (*run)(const struct args *a);
    int min_pos, max_pos;       /* DIR [NAME] */
    unsigned allowed;
    const char *usage;
};

static int run_init(const struct args *a);
static int run_issue(const struct args *a);
static int run_revoke(const struct args *a);
static int run_crl(const struct args *a);
static int run_show(const struct args *a);

static const struct verb verbs[] = {
    {"init", run_init, 1, 1, OPT_FORCE, "haulctl pki init DIR [--force]"},
    {"issue", run_issue, 2, 2, OPT_FORCE | OPT_URI | OPT_DNS | OPT_IP | OPT_DAYS | OPT_SERVER,
     "haulctl pki issue DIR NAME [--uri URI] [--dns NAME]... [--ip ADDR]... [--days N] "
     "[--server] [--force]"},
    {"revoke", run_revoke, 2, 2, OPT_REASON,
     "haulctl pki revoke DIR NAME [--reason keyCompromise|superseded|cessationOfOperation|"
     "unspecified]"},
    {"crl", run_crl, 1, 1, 0, "haulctl pki crl DIR"},
    {"show", run_show, 1, 2, 0, "haulctl pki show DIR [NAME]"},
};

#define NVERBS (sizeof verbs / sizeof verbs[0])

static void usage_all(FILE *f)
{
    fprintf(f, "usage:\n");
    for (size_t i = 0; i < NVERBS; i++)
        fprintf(f, "  %s\n", verbs[i].usage);
    fprintf(f, "\nA development PKI only: production certificates come from your "
               "organisation's CA.\nSee docs/pki.md.\n");
}

static int usage_error(const struct verb *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int usage_error(const struct verb *v, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "haulctl pki: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nusage: %s\n", v->usage);
    va_end(ap);
    return 2;
}

static int fail(const struct hg_err *err)
{
    fprintf(stderr, "haulctl pki: %s\n", hg_err_msg(err));
    return 1;
}

/* Library status → exit code: a rejected argument is a usage error. */
static int finish(const struct verb *v, hg_status rc, const struct hg_err *err)
{
    if (rc == HG_OK)
        return 0;
    if (rc == HG_EINVAL)
        return usage_error(v, "%s", hg_err_msg(err));
    return fail(err);
}

static const struct opt *opt_find(const char *arg, size_t len)
{
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
        if (strlen(opts[i].name) == len && !strncmp(opts[i].name, arg, len))
            return &opts[i];
    return NULL;
}

static int opt_store(const struct verb *v, struct args *a, const struct opt *o, const char *val)
{
    if (o->bit != OPT_DNS && o->bit != OPT_IP && (a->seen & o->bit))
        return usage_error(v, "%s given twice", o->name);
    a->seen |= o->bit;
    if (o->bit == OPT_URI)
        a->uri = val;
    else if (o->bit == OPT_DAYS)
        a->days = val;
    else if (o->bit == OPT_REASON)
        a->reason = val;
    else if (o->bit == OPT_DNS && a->ndns >= HG_PKI_MAX_DNS)
        return usage_error(v, "too many --dns (at most %d)", HG_PKI_MAX_DNS);
    else if (o->bit == OPT_DNS)
        a->dns[a->ndns++] = val;
    else if (o->bit == OPT_IP && a->nips >= HG_PKI_MAX_IPS)
        return usage_error(v, "too many --ip (at most %d)", HG_PKI_MAX_IPS);
    else if (o->bit == OPT_IP)
        a->ips[a->nips++] = val;
    return 0;
}

/* One option at argv[*i] ("--x", "--x VALUE" or "--x=VALUE"). */
static int parse_opt(const struct verb *v, struct args *a, int argc, char **argv, int *i)
{
    const char *arg = argv[*i], *eq = strchr(arg, '=');
    const struct opt *o = opt_find(arg, eq ? (size_t)(eq - arg) : strlen(arg));
    const char *val = eq ? eq + 1 : NULL;
    if (!o)
        return usage_error(v, "unknown option '%s'", arg);
    if (!(v->allowed & o->bit))
        return usage_error(v, "option %s does not apply to this verb", o->name);
    if (o->has_arg && !val) {
        if (*i + 1 >= argc)
            return usage_error(v, "option %s needs a value", o->name);
        val = argv[++*i];
    }
    if (!o->has_arg && val)
        return usage_error(v, "option %s takes no value", o->name);
    return opt_store(v, a, o, val);
}

static int parse(const struct verb *v, int argc, char **argv, struct args *a)
{
    const char *pos[2] = {NULL, NULL};
    int npos = 0, opts_done = 0;
    for (int i = 2; i < argc; i++) {
        const char *arg = argv[i];
        if (!opts_done && !strcmp(arg, "--")) {
            opts_done = 1;
            continue;
        }
        if (!opts_done && arg[0] == '-' && arg[1]) {
            int rc = parse_opt(v, a, argc, argv, &i);
            if (rc)
                return rc;
            continue;
        }
        if (npos == v->max_pos)
            return usage_error(v, "unexpected argument '%s'", arg);
        pos[npos++] = arg;
    }
    if (npos < v->min_pos)
        return usage_error(v, "missing %s", npos == 0 ? "DIR" : "NAME");
    a->verb = v;
    a->dir = pos[0];
    a->name = npos > 1 ? pos[1] : NULL;
    return 0;
}

static int run_init(const struct args *a)
{
    struct hg_err err;
    hg_err_clear(&err);
    hg_status rc = hg_pki_init(a->dir, (a->seen & OPT_FORCE) != 0, &err);
    if (rc != HG_OK)
        return finish(a->verb, rc, &err);
    printf("created a development PKI in %s (mode 0700):\n"
           "  ca.crt ca.key            CA, EC P-256, %d days\n"
           "  server.crt server.key    localhost, 127.0.0.1, ::1 (serverAuth)\n"
           "  tms operator provider-sim  .crt/.key, %sNAME (clientAuth)\n"
           "  crl.pem index.json       empty CRL (number 1), what was issued\n"
           "FOR DEVELOPMENT ONLY: production certificates come from your organisation's CA.\n",
           a->dir, HG_PKI_CA_DAYS, HG_PKI_URI_PREFIX);
    return 0;
}

static int print_show(const char *dir, const char *name)
{
    struct hg_err err;
    char *text = NULL;
    hg_err_clear(&err);
    if (hg_pki_show(dir, name, &text, &err) != HG_OK)
        return fail(&err);
    printf("%s\n", text);
    free(text);
    return 0;
}

static int run_issue(const struct args *a)
{
    const struct verb *v = a->verb;
    struct hg_pki_issue_opts o = {.uri = a->uri, .dns = a->dns, .ndns = a->ndns,
                                  .ips = a->ips, .nips = a->nips,
                                  .server = (a->seen & OPT_SERVER) != 0,
                                  .force = (a->seen & OPT_FORCE) != 0};
    struct hg_err err;
    int64_t days = 0;
    hg_err_clear(&err);
    if (a->days && hg_parse_i64(a->days, 1, HG_PKI_DAYS_MAX, &days) != HG_OK)
        return usage_error(v, "invalid --days '%s': give a whole number from 1 to 825", a->days);
    o.days = (int)days;
    hg_status rc = hg_pki_issue(a->dir, a->name, &o, &err);
    if (rc != HG_OK)
        return finish(v, rc, &err);
    fprintf(stderr, "issued %s/%s.crt and %s.key\n", a->dir, a->name, a->name);
    return print_show(a->dir, a->name);
}

static int run_revoke(const struct args *a)
{
    const struct verb *v = a->verb;
    enum hg_pki_reason reason = HG_PKI_REASON_UNSPECIFIED;
    struct hg_pki_crl_info info;
    struct hg_err err;
    char next[HG_RFC3339_LEN + 1];
    hg_err_clear(&err);
    if (a->reason && hg_pki_reason_parse(a->reason, &reason) != HG_OK)
        return usage_error(v, "invalid --reason '%s': use keyCompromise, superseded, "
                           "cessationOfOperation or unspecified", a->reason);
    hg_status rc = hg_pki_revoke(a->dir, a->name, reason, &info, &err);
    if (rc != HG_OK)
        return finish(v, rc, &err);
    hg_rfc3339(info.next_update * 1000, next);
    printf("revoked %s (serial %s, reason %s); %s/crl.pem is CRL number %lld, next update %s\n"
           "send SIGHUP to haulgated to apply it\n",
           a->name, info.serial, hg_pki_reason_name(reason), a->dir,
           (long long)info.crl_number, next);
    return 0;
}

static int run_crl(const struct args *a)
{
    struct hg_pki_crl_info info;
    struct hg_err err;
    char next[HG_RFC3339_LEN + 1];
    hg_err_clear(&err);
    hg_status rc = hg_pki_crl(a->dir, &info, &err);
    if (rc != HG_OK)
        return finish(a->verb, rc, &err);
    hg_rfc3339(info.next_update * 1000, next);
    printf("re-signed %s/crl.pem: CRL number %lld, next update %s\n"
           "send SIGHUP to haulgated to apply it\n",
           a->dir, (long long)info.crl_number, next);
    return 0;
}

static int run_show(const struct args *a)
{
    if (a->name && strcmp(a->name, "ca")) {
        struct hg_err err;
        hg_err_clear(&err);
        if (hg_pki_name_check(a->name, &err) != HG_OK)
            return usage_error(a->verb, "%s", hg_err_msg(&err));
    }
    return print_show(a->dir, a->name);
}

static int is_help(const char *s)
{
    return !strcmp(s, "--help") || !strcmp(s, "-h") || !strcmp(s, "help");
}

int hg_ctl_pki(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "haulctl pki: missing verb\n");
        usage_all(stderr);
        return 2;
    }
    if (is_help(argv[1])) {
        usage_all(stdout);
        return 0;
    }
    for (size_t i = 0; i < NVERBS; i++) {
        if (strcmp(argv[1], verbs[i].name))
            continue;
        for (int k = 2; k < argc; k++) {
            if (!strcmp(argv[k], "--"))
                break;
            if (!strcmp(argv[k], "--help") || !strcmp(argv[k], "-h")) {
                printf("usage: %s\n", verbs[i].usage);
                return 0;
            }
        }
        struct args a = {0};
        int rc = parse(&verbs[i], argc, argv, &a);
        return rc ? rc : verbs[i].run(&a);
    }
    fprintf(stderr, "haulctl pki: unknown verb '%s'\n", argv[1]);
    usage_all(stderr);
    return 2;
}
