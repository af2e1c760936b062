/* SPDX-License-Identifier: Apache-2.0
 * ctl.c — verb lookup shared by haulctl and its verb groups. */
#include "app/ctl.h"

#include <string.h>

int hg_ctl_dispatch(const char *prog, const struct hg_ctl_verb *verbs, size_t n,
                    void (*usage)(FILE *f), int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        if (!strcmp(argv[1], verbs[i].name))
            return verbs[i].run(argc - 1, argv + 1);
    fprintf(stderr, "%s: unknown verb '%s'\n", prog, argv[1]);
    usage(stderr);
    return 2;
}
