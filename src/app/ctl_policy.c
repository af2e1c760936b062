/* SPDX-License-Identifier: Apache-2.0
 *
 * ctl_policy.c — `haulctl policy ...`: check a policy file the way the
 * daemon would load it, and decide one request read from a JSON file
 * against it, so a policy change can be tried before SIGHUP. The request
 * file is read strictly (unknown members and wrong types are errors), since
 * a typo there would otherwise test a different request than intended.
 * Exit codes: test — 0 allow, 1 deny, 2 usage or file error; check — 0
 * valid, 1 invalid, 2 usage or unreadable file. Never writes a file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "app/ctl.h"
#include "common/util.h"
#include "policy/policy.h"

#define REQ_MAX_BYTES (1024 * 1024)
#define REQ_MAX_LIST 256

static void usage(FILE *f)
{
    fprintf(f,
            "usage: haulctl policy <verb> ...\n\n"
            "  check FILE                         load FILE as the daemon would; print its\n"
            "                                     rule count (exit 0) or what is wrong (exit 1)\n"
            "  test FILE --input REQUEST [--json] decide the request in the JSON file REQUEST\n"
            "                                     ('-' = standard input): exit 0 allow, 1 deny\n\n"
            "REQUEST is one JSON object; only verb is required:\n"
            "  {\"verb\": \"tender:create\", \"subject\": \"tms-1\", \"roles\": [\"tms\"],\n"
            "   \"scopes\": [\"tender:write\"], \"principal_tenant\": \"acme\",\n"
            "   \"resource_tenant\": null, \"region\": \"us-tx\",\n"
            "   \"now\": \"2026-05-01T12:00:00Z\" (or Unix seconds; default: the current time),\n"
            "   \"resource\": {\"hazmat\": true, \"weightLbs\": 42000}}\n"
            "See docs/policy.md.\n");
}

static int cmd_check(int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: haulctl policy check FILE\n");
        return 2;
    }
    struct hg_policy *p = NULL;
    struct hg_err err;
    hg_status rc = hg_policy_load(argv[1], &p, &err);
    if (rc != HG_OK) {
        fprintf(stderr, "haulctl policy check: %s\n", hg_err_msg(&err));
        return rc == HG_ECONFIG ? 1 : 2;
    }
    size_t n = hg_policy_rule_count(p);
    printf("%s: OK, %zu rule%s\n", argv[1], n, n == 1 ? "" : "s");
    hg_policy_unref(p);
    return 0;
}

/* Read a whole file (or standard input for "-"), at most max bytes. */
static int slurp(const char *path, size_t max, char **out, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "haulctl policy test: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    char *buf = malloc(max + 1);
    size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
    int bad = ferror(f);
    if (f != stdin)
        fclose(f);
    if (!buf || bad) {
        fprintf(stderr, "haulctl policy test: cannot read %s\n", path);
        free(buf);
        return -1;
    }
    if (n > max) {
        fprintf(stderr, "haulctl policy test: %s is larger than %zu bytes\n", path, max);
        free(buf);
        return -1;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

struct request {
    json_t *doc;
    struct hg_policy_input in;
    const char *roles[REQ_MAX_LIST];
    const char *scopes[REQ_MAX_LIST];
};

static const char *const members[] = {"verb", "subject", "roles", "scopes",
                                      "principal_tenant", "resource_tenant", "region", "now",
                                      "resource"};
#define NMEMBERS (sizeof members / sizeof members[0])

/* A string member, or NULL when absent or null (allowed by `nullable`). */
static int get_str(const char *file, json_t *doc, const char *key, int nullable,
                   const char **out)
{
    json_t *v = json_object_get(doc, key);
    *out = NULL;
    if (!v || (nullable && json_is_null(v)))
        return 0;
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
        fprintf(stderr, "haulctl policy test: %s: \"%s\" must be a string%s\n", file, key,
                nullable ? " or null" : "");
        return -1;
    }
    *out = json_string_value(v);
    return 0;
}

static int get_list(const char *file, json_t *doc, const char *key, const char **v,
                    size_t *n)
{
    json_t *a = json_object_get(doc, key);
    *n = 0;
    if (!a || json_is_null(a))
        return 0;
    if (!json_is_array(a) || json_array_size(a) > REQ_MAX_LIST) {
        fprintf(stderr, "haulctl policy test: %s: \"%s\" must be an array of at most %d "
                "strings, such as [\"tms\"]\n", file, key, REQ_MAX_LIST);
        return -1;
    }
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *s = json_array_get(a, i);
        if (!json_is_string(s)) {
            fprintf(stderr, "haulctl policy test: %s: \"%s\"[%zu] must be a string\n", file,
                    key, i);
            return -1;
        }
        v[(*n)++] = json_string_value(s);
    }
    return 0;
}

static int get_now(const char *file, json_t *doc, int64_t *now)
{
    json_t *v = json_object_get(doc, "now");
    if (!v || json_is_null(v)) {
        *now = hg_wall_ms() / 1000;
        return 0;
    }
    if (json_is_integer(v)) {
        *now = (int64_t)json_integer_value(v);
        return 0;
    }
    int64_t ms;
    if (json_is_string(v) &&
        hg_rfc3339_parse(json_string_value(v), json_string_length(v), &ms) == HG_OK) {
        *now = ms / 1000;
        return 0;
    }
    fprintf(stderr, "haulctl policy test: %s: \"now\" must be an RFC 3339 time such as "
            "\"2026-05-01T12:00:00Z\" or whole Unix seconds\n", file);
    return -1;
}

static int read_request(const char *file, struct request *q)
{
    char *text = NULL;
    size_t len = 0;
    json_error_t je;
    if (slurp(file, REQ_MAX_BYTES, &text, &len) != 0)
        return -1;
    q->doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    free(text);
    if (!q->doc) {
        fprintf(stderr, "haulctl policy test: %s:%d:%d: invalid JSON: %s\n", file, je.line,
                je.column, je.text);
        return -1;
    }
    if (!json_is_object(q->doc)) {
        fprintf(stderr, "haulctl policy test: %s: the request must be a JSON object with at "
                "least \"verb\"\n", file);
        return -1;
    }
    const char *key;
    json_t *val;
    json_object_foreach(q->doc, key, val) {
        size_t i = 0;
        while (i < NMEMBERS && strcmp(key, members[i]) != 0)
            i++;
        if (i == NMEMBERS) {
            fprintf(stderr, "haulctl policy test: %s: unknown member \"%s\"; the members are "
                    "verb, subject, roles, scopes, principal_tenant, resource_tenant, region, "
                    "now and resource\n", file, key);
            return -1;
        }
    }
    struct hg_policy_input *in = &q->in;
    if (get_str(file, q->doc, "verb", 0, &in->verb) != 0)
        return -1;
    if (!in->verb || !in->verb[0]) {
        fprintf(stderr, "haulctl policy test: %s: \"verb\" is required, such as "
                "\"tender:create\"\n", file);
        return -1;
    }
    if (get_str(file, q->doc, "subject", 1, &in->subject) != 0 ||
        get_str(file, q->doc, "principal_tenant", 1, &in->principal_tenant) != 0 ||
        get_str(file, q->doc, "resource_tenant", 1, &in->resource_tenant) != 0 ||
        get_str(file, q->doc, "region", 1, &in->region) != 0 ||
        get_list(file, q->doc, "roles", q->roles, &in->nroles) != 0 ||
        get_list(file, q->doc, "scopes", q->scopes, &in->nscopes) != 0 ||
        get_now(file, q->doc, &in->now) != 0)
        return -1;
    in->roles = q->roles;
    in->scopes = q->scopes;
    json_t *res = json_object_get(q->doc, "resource");
    if (res && !json_is_null(res) && !json_is_object(res)) {
        fprintf(stderr, "haulctl policy test: %s: \"resource\" must be a JSON object of the "
                "resource's attributes (or null)\n", file);
        return -1;
    }
    in->resource = res && json_is_object(res) ? res : NULL;
    return 0;
}

static int cmd_test(int argc, char **argv)
{
    const char *file = NULL, *input = NULL;
    int as_json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--input") && i + 1 < argc) {
            input = argv[++i];
        } else if (!strcmp(argv[i], "--json")) {
            as_json = 1;
        } else if (argv[i][0] != '-' && !file) {
            file = argv[i];
        } else {
            fprintf(stderr, "haulctl policy test: unexpected argument '%s'\n", argv[i]);
            file = NULL;
            input = NULL;
            break;
        }
    }
    if (!file || !input) {
        fprintf(stderr, "usage: haulctl policy test FILE --input REQUEST.json [--json]\n");
        return 2;
    }
    struct hg_policy *p = NULL;
    struct hg_err err;
    struct request q;
    int rc = 2;
    memset(&q, 0, sizeof q);
    if (hg_policy_load(file, &p, &err) != HG_OK) {
        fprintf(stderr, "haulctl policy test: %s\n", hg_err_msg(&err));
        goto out;
    }
    if (read_request(input, &q) != 0)
        goto out;
    struct hg_policy_decision d;
    hg_policy_eval(p, &q.in, &d);
    const char *word = d.decision == HG_POLICY_ALLOW ? "allow" : "deny";
    char when[HG_RFC3339_LEN + 1] = "";
    if (q.in.now >= 0 && q.in.now <= INT64_MAX / 1000)
        hg_rfc3339(q.in.now * 1000, when);
    if (as_json) {
        json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s?}", "decision", word, "policy_id",
                              d.policy_id, "reason", d.reason, "verb", q.in.verb, "now",
                              when[0] ? when : NULL);
        char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
        json_decref(o);
        if (!s) {
            fprintf(stderr, "haulctl policy test: out of memory\n");
            goto out;
        }
        printf("%s\n", s);
        free(s);
    } else {
        printf("decision: %s\nrule:     %s\nreason:   %s\n", word, d.policy_id, d.reason);
    }
    rc = d.decision == HG_POLICY_ALLOW ? 0 : 1;
out:
    json_decref(q.doc);
    hg_policy_unref(p);
    return rc;
}

static const struct hg_ctl_verb verbs[] = {
    {"check", cmd_check, "validate a policy file"},
    {"test", cmd_test, "decide one request against a policy file"},
};

int hg_ctl_policy(int argc, char **argv)
{
    return hg_ctl_dispatch("haulctl policy", verbs, sizeof verbs / sizeof verbs[0], usage,
                           argc, argv);
}
