/* SPDX-License-Identifier: Apache-2.0
 * haulgated — the gateway daemon. Thin: everything is in app/daemon.c. */
#include "app/daemon.h"

int main(int argc, char **argv)
{
    return hg_daemon_main(argc, argv);
}
