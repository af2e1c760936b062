/* SPDX-License-Identifier: Apache-2.0
 *
 * haulctl — the operator CLI. Thin: finds the verb group in one table and
 * hands over to app/. Adding a group is adding one row.
 */
#include <stdio.h>
#include <string.h>

#include "app/ctl.h"

static const struct hg_ctl_verb verbs[] = {
    {"pki", hg_ctl_pki, "development PKI: init, issue, revoke, crl, show"},
    {"audit", hg_ctl_audit, "audit log: verify, prove, verify-proof, checkpoint, show"},
    {"keys", hg_ctl_keys, "token signing keys: rotate, list"},
    {"policy", hg_ctl_policy, "ABAC policy: check a file, test a request against it"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: haulctl <group> <verb> [args...] | haulctl --version\n\ngroups:\n");
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        fprintf(f, "  %-10s %s\n", verbs[i].name, verbs[i].summary);
    fprintf(f, "\n'haulctl <group> --help' describes a group.\n");
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "--version")) {
        printf("haulctl %s (%s)\n", HG_VERSION, HG_REVISION);
        return 0;
    }
    return hg_ctl_dispatch("haulctl", verbs, sizeof verbs / sizeof verbs[0], usage, argc, argv);
}
