/* SPDX-License-Identifier: Apache-2.0
 *
 * ctl.h — the verbs of `haulctl`, one entry point per verb group. Each takes
 * the arguments after the group name (argv[0] is the group name), prints its
 * result on standard output and a clear message on standard error, and
 * returns the process exit code: 0 success, 1 the operation failed (e.g. a
 * verification found tampering), 2 usage error.
 */
#ifndef HG_APP_CTL_H
#define HG_APP_CTL_H

struct hg_ctl_verb {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

#include <stddef.h>
#include <stdio.h>

/* Find argv[1] in a verb table and run it with (argc - 1, argv + 1).
 * "--help", "-h" and "help" print `usage` to standard output (exit 0); a
 * missing or unknown verb prints "<prog>: unknown verb" and `usage` to
 * standard error (exit 2). `prog` names the caller in messages
 * ("haulctl", "haulctl audit"). */
int hg_ctl_dispatch(const char *prog, const struct hg_ctl_verb *verbs, size_t n,
                    void (*usage)(FILE *f), int argc, char **argv);

int hg_ctl_pki(int argc, char **argv);
int hg_ctl_audit(int argc, char **argv);
int hg_ctl_keys(int argc, char **argv);
int hg_ctl_policy(int argc, char **argv);

#endif
