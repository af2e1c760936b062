/* SPDX-License-Identifier: Apache-2.0
 *
 * daemon.h — haulgated's main, kept in app/ so src/cmd/haulgated.c stays a
 * one-line shim. Returns the process exit code: 0 clean stop or valid
 * config, 1 start-up failure or invalid config, 2 usage error.
 */
#ifndef HG_APP_DAEMON_H
#define HG_APP_DAEMON_H

int hg_daemon_main(int argc, char **argv);

#endif
