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

int hg_ctl_pki(int argc, char **argv);
int hg_ctl_audit(int argc, char **argv);

#endif
