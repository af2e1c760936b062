/* SPDX-License-Identifier: Apache-2.0
 *
 * test_policy_load.c — the policy loader's refusals, each with its exact
 * message ("FILE:LINE: key '...' (rule '...'): what is wrong; what to
 * do"): missing and unsupported versions, unknown and duplicate keys,
 * duplicate rule ids, wrong types, bad verbs, empty and repeated list
 * items, malformed conditions, time windows, YAML features a policy may
 * not use, and every size bound; then files on disk (missing, a
 * directory, a valid one) and the spellings a valid policy may use.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "policy/policy.h"

#define HEAD "version: 1\nrules:\n  - id: a\n    effect: allow\n    verbs: [tender:read]\n"

static const struct {
    const char *text;
    const char *msg;
} bad[] = {
    {"rules: []\n", "p.yaml:1: key 'version': required key is missing; start the file with "
                    "'version: 1'"},
    {"version: 2\nrules: []\n",
     "p.yaml:1: key 'version': unsupported version \"2\"; this haulgate reads version 1 "
     "policies"},
    {"version: \"1\"\nrules: []\n",
     "p.yaml:1: key 'version': expected the number 1, got \"1\" (quoted); write version: 1 "
     "without quotes"},
    {"version: 1\n",
     "p.yaml:1: key 'rules': required key is missing; add 'rules:' with a list of rules (an "
     "empty list, rules: [], denies everything)"},
    {"version: 1\nrule: []\n",
     "p.yaml:2: key 'rule': unknown key; did you mean 'rules'? Valid keys here: version, "
     "rules"},
    {HEAD "    role: [tms]\n",
     "p.yaml:6: key 'rules[0].role': unknown key; did you mean 'roles'? Valid keys here: id, "
     "effect, verbs, roles, scopes, tenant, regions, time, when, reason"},
    {HEAD "    priority: 3\n",
     "p.yaml:6: key 'rules[0].priority': unknown key; valid keys here: id, effect, verbs, "
     "roles, scopes, tenant, regions, time, when, reason"},
    {HEAD "    verbs: [tender:list]\n",
     "p.yaml:6: key 'rules[0].verbs': duplicate key (first set at line 5); each key may "
     "appear only once"},
    {HEAD "  - id: a\n    effect: deny\n    verbs: [tender:list]\n",
     "p.yaml:6: key 'rules[1].id': duplicate rule id 'a' (first used by rules[0] at line 3); "
     "give every rule its own id"},
    {"version: 1\nrules:\n  - effect: allow\n    verbs: [tender:read]\n",
     "p.yaml:3: key 'rules[0].id': required key is missing; give the rule a unique id, such "
     "as id: tms-create-tenders"},
    {"version: 1\nrules:\n  - id: default-deny\n    effect: allow\n    verbs: [x:y]\n",
     "p.yaml:3: key 'rules[0].id': 'default-deny' names the decision when no rule applies; "
     "choose another id"},
    {"version: 1\nrules:\n  - id: a b\n    effect: allow\n    verbs: [x:y]\n",
     "p.yaml:3: key 'rules[0].id': expected a rule id of 1 to 64 letters, digits, '.', '_', "
     "'-' or ':', got \"a b\""},
    {"version: 1\nrules:\n  - id: a\n    verbs: [tender:read]\n",
     "p.yaml:3: key 'rules[0].effect' (rule 'a'): required key is missing; add effect: allow "
     "or effect: deny"},
    {"version: 1\nrules:\n  - id: a\n    effect: permit\n    verbs: [tender:read]\n",
     "p.yaml:4: key 'rules[0].effect' (rule 'a'): expected allow or deny, got \"permit\"; "
     "write effect: allow or effect: deny"},
    {"version: 1\nrules:\n  - id: a\n    effect: \"allow\\0x\"\n    verbs: [x:y]\n",
     "p.yaml:4: key 'rules[0].effect' (rule 'a'): expected allow or deny, got \"allow\\x00x\"; "
     "write effect: allow or effect: deny"},
    {"version: 1\nrules:\n  - id: a\n    effect: allow\n",
     "p.yaml:3: key 'rules[0].verbs' (rule 'a'): required key is missing; list the verbs the "
     "rule is about, such as verbs: [tender:create] (or [\"*\"] for every verb)"},
    {"version: 1\nrules:\n  - id: a\n    effect: allow\n    verbs: tender:read\n",
     "p.yaml:5: key 'rules[0].verbs' (rule 'a'): expected a list of verbs, such as "
     "[tender:create], got \"tender:read\"; write a single item as [tender:read]"},
    {"version: 1\nrules:\n  - id: a\n    effect: allow\n    verbs: [Tender:Read]\n",
     "p.yaml:5: key 'rules[0].verbs[0]' (rule 'a'): \"Tender:Read\" is not a verb: noun:verb "
     "in lower case (tender:create), noun:* (tender:*) or * for every verb"},
    {"version: 1\nrules:\n  - id: a\n    effect: allow\n    verbs: [x:y, \"tender:cr*\"]\n",
     "p.yaml:5: key 'rules[0].verbs[1]' (rule 'a'): \"tender:cr*\" is not a verb: noun:verb "
     "in lower case (tender:create), noun:* (tender:*) or * for every verb"},
    {"version: 1\nrules:\n  - id: a\n    effect: allow\n    verbs: [\"*:read\"]\n",
     "p.yaml:5: key 'rules[0].verbs[0]' (rule 'a'): \"*:read\" is not a verb: noun:verb in "
     "lower case (tender:create), noun:* (tender:*) or * for every verb"},
    {HEAD "    roles: []\n",
     "p.yaml:6: key 'rules[0].roles' (rule 'a'): the list is empty, so the rule could never "
     "apply; list at least one item, or remove the key to match any"},
    {HEAD "    roles: {tms: true}\n",
     "p.yaml:6: key 'rules[0].roles' (rule 'a'): expected a list of roles, such as [tms], got "
     "a mapping"},
    {HEAD "    roles: [tms, ops, tms]\n",
     "p.yaml:6: key 'rules[0].roles[2]' (rule 'a'): duplicate item \"tms\" (also item 0 at "
     "line 6); list each one once"},
    {HEAD "    scopes: [tender:write, [x]]\n",
     "p.yaml:6: key 'rules[0].scopes[1]' (rule 'a'): expected a scope name (printable "
     "characters, no spaces), got a list"},
    {HEAD "    regions: [us tx]\n",
     "p.yaml:6: key 'rules[0].regions[0]' (rule 'a'): \"us tx\" is not a region name "
     "(printable characters, no spaces)"},
    {HEAD "    tenant: [acme]\n",
     "p.yaml:6: key 'rules[0].tenant' (rule 'a'): expected same (the principal's own "
     "tenant), any, or a tenant name, got a list"},
    {HEAD "    tenant:\n",
     "p.yaml:6: key 'rules[0].tenant' (rule 'a'): expected same (the principal's own "
     "tenant), any, or a tenant name, got an empty value"},
    {HEAD "    when:\n      - hazmat == true\n      - weightLbs => 80000\n",
     "p.yaml:8: key 'rules[0].when[1]' (rule 'a'): condition \"weightLbs => 80000\": '=>' is "
     "not an operator; write '>='"},
    {HEAD "    when: [\"hazmat = true\"]\n",
     "p.yaml:6: key 'rules[0].when[0]' (rule 'a'): condition \"hazmat = true\": '=' is not an "
     "operator; write '==' to compare"},
    {HEAD "    when: ['equipment < \"reefer\"']\n",
     "p.yaml:6: key 'rules[0].when[0]' (rule 'a'): condition \"equipment < \\\"reefer\\\"\": "
     "<, <=, > and >= compare numbers only; use == or != for strings"},
    {HEAD "    when: [hazmat >= true]\n",
     "p.yaml:6: key 'rules[0].when[0]' (rule 'a'): condition \"hazmat >= true\": <, <=, > "
     "and >= compare numbers only; use == or != for true and false"},
    {HEAD "    when: [equipment == reefer]\n",
     "p.yaml:6: key 'rules[0].when[0]' (rule 'a'): condition \"equipment == reefer\": the "
     "value \"reefer\" is not a number, true, false, null or a string in double quotes; "
     "write strings as \"reefer\""},
    {HEAD "    when: ['x == \"abc']\n",
     "p.yaml:6: key 'rules[0].when[0]' (rule 'a'): condition \"x == \\\"abc\": the string "
     "that starts at column 6 has no closing '\"'"},
    {HEAD "    when: ['x == \"a\\nb\"']\n",
     "p.yaml:6: key 'rules[0].when[0]' (rule 'a'): condition \"x == \\\"a\\\\nb\\\"\": unknown "
     "escape at column 8; inside a string only \\\" and \\\\ are escapes"},
    {HEAD "    when: [x == 1 2]\n",
     "p.yaml:6: key 'rules[0].when[0]' (rule 'a'): condition \"x == 1 2\": unexpected \"2\" "
     "after the value at column 8; a condition is one comparison (write several conditions "
     "as several list items)"},
    {HEAD "    when: [x == 01]\n",
     "p.yaml:6: key 'rules[0].when[0]' (rule 'a'): condition \"x == 01\": \"01\" is not a "
     "number; write numbers as in JSON, such as 80000, -3 or 12.5"},
    {HEAD "    when: [x == 1e999]\n",
     "p.yaml:6: key 'rules[0].when[0]' (rule 'a'): condition \"x == 1e999\": the number "
     "1e999 is out of range"},
    {HEAD "    when: [a.b.c.d.e == 1]\n",
     "p.yaml:6: key 'rules[0].when[0]' (rule 'a'): condition \"a.b.c.d.e == 1\": the "
     "attribute path has more than 4 parts; a condition reaches at most 4 levels into the "
     "resource"},
    {HEAD "    when: [a..b == 1]\n",
     "p.yaml:6: key 'rules[0].when[0]' (rule 'a'): condition \"a..b == 1\": the attribute "
     "path has an empty part at column 3; join member names with single dots, such as "
     "requirements.hazmat"},
    {HEAD "    when: [\"== 1\"]\n",
     "p.yaml:6: key 'rules[0].when[0]' (rule 'a'): condition \"== 1\": it must start with an "
     "attribute name (letters, digits, '_' or '-', starting with a letter or '_'); write "
     "<attribute> <op> <value>, such as weightLbs <= 80000"},
    {HEAD "    when: [weightLbs]\n",
     "p.yaml:6: key 'rules[0].when[0]' (rule 'a'): condition \"weightLbs\": the operator and "
     "value are missing; write <attribute> <op> <value>, such as weightLbs <= 80000"},
    {HEAD "    when: [\"weightLbs <\"]\n",
     "p.yaml:6: key 'rules[0].when[0]' (rule 'a'): condition \"weightLbs <\": the value after "
     "the operator is missing; write <attribute> <op> <value>, such as weightLbs <= 80000"},
    {HEAD "    when: [\"  \"]\n",
     "p.yaml:6: key 'rules[0].when[0]' (rule 'a'): condition \"  \": the condition is empty; "
     "write <attribute> <op> <value>, such as weightLbs <= 80000"},
    {HEAD "    when: hazmat == true\n",
     "p.yaml:6: key 'rules[0].when' (rule 'a'): expected a list of conditions, got \"hazmat "
     "== true\"; write a single condition as [\"hazmat == true\"]"},
    {HEAD "    when: [x <== 1]\n",
     "p.yaml:6: key 'rules[0].when[0]' (rule 'a'): condition \"x <== 1\": unknown operator at "
     "column 3; use one of ==, !=, <, <=, >, >="},
    {HEAD "    time: {hours: \"25:00-06:00\"}\n",
     "p.yaml:6: key 'rules[0].time.hours' (rule 'a'): expected hours as \"HH:MM-HH:MM\" in "
     "UTC, end exclusive, such as \"06:00-20:00\" (24:00 may end a window; a window like "
     "\"22:00-06:00\" runs past midnight), got \"25:00-06:00\""},
    {HEAD "    time: {hours: \"24:00-06:00\"}\n",
     "p.yaml:6: key 'rules[0].time.hours' (rule 'a'): expected hours as \"HH:MM-HH:MM\" in "
     "UTC, end exclusive, such as \"06:00-20:00\" (24:00 may end a window; a window like "
     "\"22:00-06:00\" runs past midnight), got \"24:00-06:00\""},
    {HEAD "    time: {hours: \"10:00-10:00\"}\n",
     "p.yaml:6: key 'rules[0].time.hours' (rule 'a'): the window \"10:00-10:00\" starts and "
     "ends at the same time; write \"00:00-24:00\" for the whole day, or remove hours"},
    {HEAD "    time:\n      days: [mon, funday]\n",
     "p.yaml:7: key 'rules[0].time.days[1]' (rule 'a'): \"funday\" is not a day: mon, tue, "
     "wed, thu, fri, sat or sun"},
    {HEAD "    time: {}\n",
     "p.yaml:6: key 'rules[0].time' (rule 'a'): the time window is empty; give days (such as "
     "[mon, fri]), hours (such as \"06:00-20:00\") or both, or remove time"},
    {HEAD "    time: {days: [mon], hour: \"06:00-07:00\"}\n",
     "p.yaml:6: key 'rules[0].time.hour' (rule 'a'): unknown key; did you mean 'hours'? Valid keys here: "
     "days, hours"},
    {HEAD "    reason: \"\"\n",
     "p.yaml:6: key 'rules[0].reason' (rule 'a'): expected a sentence saying why the rule "
     "decides as it does, got \"\""},
    {"version: 1\nrules:\n  id: a\n",
     "p.yaml:3: key 'rules': expected a list of rules, got a mapping"},
    {"version: 1\nrules:\n  - [a]\n",
     "p.yaml:3: key 'rules[0]': expected a rule (a mapping with id, effect and verbs), got a "
     "list"},
    {"- version: 1\n",
     "p.yaml:1: the top level must be a mapping with version and rules, got a list"},
    {"", "p.yaml:1: the file holds no policy; it needs 'version: 1' and a list of rules (see "
         "config/policy.example.yaml)"},
    {"version: 1\nrules:\n  - id: a\n   effect: allow\n",
     "p.yaml:4: invalid YAML: did not find expected '-' indicator (while parsing a block "
     "collection that starts at line 3); check the indentation and quoting"},
    {"version: 1\nrules: []\n---\nversion: 1\n",
     "p.yaml:3: the file holds more than one YAML document ('---'); put the whole policy in "
     "one document"},
    {"version: 1\nrules:\n  - id: a\n    effect: allow\n    verbs: &v [x:y]\n",
     "p.yaml:5: anchors (&v) are not supported in a policy; write each value out in full"},
    {"version: 1\nrules:\n  - id: a\n    effect: allow\n    verbs: *v\n",
     "p.yaml:5: aliases (*v) are not supported in a policy; write the value out in full"},
    {HEAD "    reason: !!str hi\n",
     "p.yaml:6: tags (!!str) are not supported in a policy; remove the tag"},
    {"%TAG !x! tag:example.com,2000:\n---\nversion: 1\n",
     "p.yaml:1: %TAG directives are not supported; remove them"},
    {"version: 1\nrules: [a\x01]\n",
     "p.yaml:2: invalid YAML: control characters are not allowed at byte 20; the file must "
     "be UTF-8 text without control characters"},
    {"version: 1\nrules: [\"\\x01\"]\n",
     "p.yaml:2: key 'rules[0]': expected a rule (a mapping with id, effect and verbs), got "
     "\"\\x01\""},
    {"version: 1\nrules: [[[[[[[[[1]]]]]]]]]\n",
     "p.yaml:2: lists and mappings nest deeper than 8 levels; a policy needs at most 5"},
};

static void refusals(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct hg_policy *p = (struct hg_policy *)&p;   /* must be reset to NULL */
        struct hg_err err;
        hg_status rc = hg_policy_load_mem("p.yaml", bad[i].text, strlen(bad[i].text), &p, &err);
        if (rc != HG_ECONFIG || strcmp(err.msg, bad[i].msg) != 0)
            fail_msg("case %zu: status %s, message\n  got:  %s\n  want: %s", i,
                     hg_status_name(rc), err.msg, bad[i].msg);
        assert_null(p);
        assert_int_equal(err.status, HG_ECONFIG);
    }
}

/* ----------------------------------------------------------- bounds */

static hg_status load_buf(struct hg_buf *b, struct hg_err *err)
{
    struct hg_policy *p = NULL;
    hg_status rc = hg_policy_load_mem("big.yaml", b->data, b->len, &p, err);
    hg_policy_unref(p);
    return rc;
}

static void bounds(void **state)
{
    (void)state;
    struct hg_buf b;
    struct hg_err err;

    /* more than HG_POLICY_MAX_BYTES */
    hg_buf_init(&b, HG_POLICY_MAX_BYTES + 64);
    hg_buf_puts(&b, "version: 1\nrules: []\n");
    while (b.len <= HG_POLICY_MAX_BYTES)
        hg_buf_puts(&b, "# padding padding padding padding padding padding padding\n");
    assert_int_equal(load_buf(&b, &err), HG_ECONFIG);
    assert_non_null(strstr(err.msg, "big.yaml: the policy is "));
    assert_non_null(strstr(err.msg, "bytes; at most 1048576 are allowed"));
    hg_buf_cleanup(&b);

    /* HG_POLICY_MAX_RULES is fine, one more is not */
    for (int extra = 0; extra < 2; extra++) {
        hg_buf_init(&b, HG_POLICY_MAX_BYTES);
        hg_buf_puts(&b, "version: 1\nrules:\n");
        for (int i = 0; i < HG_POLICY_MAX_RULES + extra; i++)
            hg_buf_printf(&b, "- {id: r%d, effect: allow, verbs: [\"*\"]}\n", i);
        hg_status rc = load_buf(&b, &err);
        if (extra == 0) {
            assert_int_equal(rc, HG_OK);
        } else {
            assert_int_equal(rc, HG_ECONFIG);
            assert_string_equal(err.msg, "big.yaml:3: key 'rules': the policy has 10001 "
                                         "rules; at most 10000 are allowed");
        }
        hg_buf_cleanup(&b);
    }

    /* 65 items in one list */
    hg_buf_init(&b, 1 << 16);
    hg_buf_puts(&b, HEAD "    roles: [");
    for (int i = 0; i < 65; i++)
        hg_buf_printf(&b, "%sr%d", i ? ", " : "", i);
    hg_buf_puts(&b, "]\n");
    assert_int_equal(load_buf(&b, &err), HG_ECONFIG);
    assert_string_equal(err.msg, "big.yaml:6: key 'rules[0].roles' (rule 'a'): the list has "
                                 "65 items; at most 64 are allowed");
    hg_buf_cleanup(&b);

    /* more than 1024 distinct roles across rules */
    hg_buf_init(&b, 1 << 20);
    hg_buf_puts(&b, "version: 1\nrules:\n");
    for (int r = 0; r < 17; r++) {
        hg_buf_printf(&b, "- id: r%d\n  effect: allow\n  verbs: [x:y]\n  roles: [", r);
        for (int i = 0; i < 64; i++)
            hg_buf_printf(&b, "%sr%d", i ? ", " : "", r * 64 + i);
        hg_buf_puts(&b, "]\n");
    }
    assert_int_equal(load_buf(&b, &err), HG_ECONFIG);
    assert_string_equal(err.msg, "big.yaml:70: key 'rules[16].roles[0]' (rule 'r16'): the "
                                 "policy names more than 1024 distinct roles; that is the "
                                 "limit");
    hg_buf_cleanup(&b);

    /* 17 conditions */
    hg_buf_init(&b, 1 << 16);
    hg_buf_puts(&b, HEAD "    when: [");
    for (int i = 0; i < 17; i++)
        hg_buf_printf(&b, "%sx%d == 1", i ? ", " : "", i);
    hg_buf_puts(&b, "]\n");
    assert_int_equal(load_buf(&b, &err), HG_ECONFIG);
    assert_string_equal(err.msg, "big.yaml:6: key 'rules[0].when' (rule 'a'): the rule has 17 "
                                 "conditions; at most 16 are allowed");
    hg_buf_cleanup(&b);

    /* a value longer than 1024 bytes; a reason longer than 256 */
    hg_buf_init(&b, 1 << 16);
    hg_buf_puts(&b, HEAD "    reason: ");
    for (int i = 0; i < 1025; i++)
        hg_buf_puts(&b, "x");
    hg_buf_puts(&b, "\n");
    assert_int_equal(load_buf(&b, &err), HG_ECONFIG);
    assert_string_equal(err.msg, "big.yaml:6: a value is 1025 bytes long; at most 1024 are "
                                 "allowed");
    hg_buf_cleanup(&b);
    hg_buf_init(&b, 1 << 16);
    hg_buf_puts(&b, HEAD "    reason: ");
    for (int i = 0; i < 257; i++)
        hg_buf_puts(&b, "x");
    hg_buf_puts(&b, "\n");
    assert_int_equal(load_buf(&b, &err), HG_ECONFIG);
    assert_string_equal(err.msg, "big.yaml:6: key 'rules[0].reason' (rule 'a'): expected a "
                                 "sentence saying why the rule decides as it does, got 257 "
                                 "bytes; at most 256 are allowed");
    hg_buf_cleanup(&b);

    /* a 129-byte role name */
    hg_buf_init(&b, 1 << 16);
    hg_buf_puts(&b, HEAD "    roles: [");
    for (int i = 0; i < 129; i++)
        hg_buf_puts(&b, "r");
    hg_buf_puts(&b, "]\n");
    assert_int_equal(load_buf(&b, &err), HG_ECONFIG);
    assert_non_null(strstr(err.msg, "big.yaml:6: key 'rules[0].roles[0]' (rule 'a'): \"rrr"));
    assert_non_null(strstr(err.msg, "...\" is not a role name"));
    hg_buf_cleanup(&b);
}

/* ------------------------------------------------------------ files */

static void files(void **state)
{
    (void)state;
    char dir[] = "/tmp/hg-policy-XXXXXX", path[128];
    struct hg_policy *p = NULL;
    struct hg_err err;
    assert_non_null(mkdtemp(dir));

    snprintf(path, sizeof path, "%s/missing.yaml", dir);
    assert_int_equal(hg_policy_load(path, &p, &err), HG_ENOTFOUND);
    assert_null(p);
    assert_non_null(strstr(err.msg, "missing.yaml: cannot open the policy file: No such file "
                                    "or directory; check the path"));

    assert_int_equal(hg_policy_load(dir, &p, &err), HG_EIO);
    assert_non_null(strstr(err.msg, ": not a regular file; give the path of the policy file"));

    snprintf(path, sizeof path, "%s/bad.yaml", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("version: 1\nrules:\n  - id: a\n    effect: allow\n    verbs: [x:y]\n    when: [n = "
          "1]\n", f);
    fclose(f);
    assert_int_equal(hg_policy_load(path, &p, &err), HG_ECONFIG);
    char want[512];
    snprintf(want, sizeof want, "%s:6: key 'rules[0].when[0]' (rule 'a'): condition \"n = 1\": "
             "'=' is not an operator; write '==' to compare", path);
    assert_string_equal(err.msg, want);

    snprintf(path, sizeof path, "%s/good.yaml", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("version: 1\nrules:\n  - {id: a, effect: allow, verbs: [x:y]}\n", f);
    fclose(f);
    assert_int_equal(hg_policy_load(path, &p, &err), HG_OK);
    assert_string_equal(hg_policy_source(p), path);
    assert_int_equal(hg_policy_rule_count(p), 1);
    hg_policy_unref(p);

    assert_int_equal(hg_policy_load(NULL, &p, &err), HG_EINVAL);
    assert_int_equal(hg_policy_load_mem("x", NULL, 1, &p, &err), HG_EINVAL);

    unlink(path);
    snprintf(path, sizeof path, "%s/bad.yaml", dir);
    unlink(path);
    assert_int_equal(rmdir(dir), 0);
}

/* Spellings a valid policy may use: flow and block style, quoted and
 * plain scalars, comments, tenant names, every operator. */
static void accepted(void **state)
{
    (void)state;
    static const char text[] =
        "# a comment\n"
        "version: 1\n"
        "rules:\n"
        "  - {id: \"flow.rule:1\", effect: 'allow', verbs: [\"tender:*\", tender:create, \"*\"]}\n"
        "  - id: block_rule-2\n"
        "    effect: deny        # trailing comment\n"
        "    verbs:\n"
        "      - capacity:publish\n"
        "    roles: [\"role:with/colon\"]\n"
        "    scopes: [a, b]\n"
        "    tenant: same\n"
        "    regions: [us-tx]\n"
        "    time: {days: [sun], hours: '00:00-24:00'}\n"
        "    when: [\"a == 1\", \"b != -2.5e3\", c < 3, d <= 4, e > 5, e >= 5, 'f == \"\"', "
        "g == null, h != true, i.j.0.k == false, x-y == 1]\n"
        "    reason: it is 'quoted' \"here\"\n"
        "  - id: t\n"
        "    effect: allow\n"
        "    verbs: [x:y]\n"
        "    tenant: same-as-nothing\n";
    struct hg_policy *p = NULL;
    struct hg_err err;
    if (hg_policy_load_mem("ok.yaml", text, sizeof text - 1, &p, &err) != HG_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(hg_policy_rule_count(p), 3);
    const char *roles[] = {"role:with/colon"};
    struct hg_policy_input in = {.verb = "x:y", .principal_tenant = "same-as-nothing"};
    struct hg_policy_decision d;
    hg_policy_eval(p, &in, &d);
    assert_string_equal(d.policy_id, "flow.rule:1");
    in.verb = "capacity:publish";
    in.roles = roles;
    in.nroles = 1;
    hg_policy_eval(p, &in, &d);
    assert_string_equal(d.policy_id, "flow.rule:1");   /* the deny needs scopes a and b */
    hg_policy_unref(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(refusals),
        cmocka_unit_test(bounds),
        cmocka_unit_test(files),
        cmocka_unit_test(accepted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
