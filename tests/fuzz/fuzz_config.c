/* SPDX-License-Identifier: Apache-2.0
 *
 * fuzz_config.c — libFuzzer target for app/config: the input is the whole
 * configuration file, loaded from memory with hg_config_load_mem (so no
 * file system is touched) and freed. The bytes are copied into an
 * exact-size heap buffer so ASan sees any read past the length. Beyond not
 * crashing or leaking, the target checks the loader's promises: success
 * yields a config whose required keys are set and whose values are within
 * their documented ranges; failure yields no config and a message that
 * starts with the file name.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "app/config.h"

#define NAME "fuzz/haulgate.yaml"

static void check(int cond)
{
    if (!cond)
        abort();
}

static void check_list(char **v, size_t n)
{
    check(n <= 1024);
    check(n == 0 || v != NULL);
    for (size_t i = 0; i < n; i++)
        check(v[i] && v[i][0] && strlen(v[i]) <= 4096);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size ? size : 1);
    struct hg_config *cfg = NULL;
    struct hg_err err;
    if (!text)
        return 0;
    if (size)
        memcpy(text, data, size);
    hg_status rc = hg_config_load_mem(NAME, text, size, &cfg, &err);
    if (rc != HG_OK) {
        check(cfg == NULL);
        check(rc == HG_ECONFIG || rc == HG_ENOMEM);
        check(err.status == rc);
        check(rc == HG_ENOMEM || strncmp(err.msg, NAME ":", sizeof NAME) == 0);
    } else {
        check(cfg != NULL && cfg->path && cfg->path[0] == '/');
        check(cfg->data_dir && cfg->data_dir[0] == '/');
        check(cfg->api.tls.cert && cfg->api.tls.key && cfg->api.tls.ca);
        check(cfg->api.tls.cert[0] == '/' && cfg->api.tls.ca[0] == '/');
        check(cfg->api.listen && cfg->api.host && cfg->api.host[0]);
        check(cfg->api.port >= 0 && cfg->api.port <= 65535);
        check(cfg->admin.listen && cfg->admin.host);
        check(cfg->admin.port >= 0 && cfg->admin.port <= 65535);
        check(cfg->api.threads >= 0 && cfg->api.threads <= 64);
        check(cfg->api.max_header_bytes >= 1024 &&
              cfg->api.max_header_bytes <= 1024 * 1024);
        check(cfg->api.max_body_bytes >= 1024 &&
              cfg->api.max_body_bytes <= 64 * 1024 * 1024);
        check(cfg->api.header_timeout_ms >= 100);
        check(cfg->api.read_timeout_ms >= 100 && cfg->api.write_timeout_ms >= 100);
        check(cfg->api.max_connections >= 1);
        check(cfg->shutdown.drain_timeout_ms >= 0);
        check(cfg->log.level && (strcmp(cfg->log.level, "debug") == 0 ||
                                 strcmp(cfg->log.level, "info") == 0 ||
                                 strcmp(cfg->log.level, "warn") == 0 ||
                                 strcmp(cfg->log.level, "error") == 0));
        check(cfg->nclients <= 4096);
        for (size_t i = 0; i < cfg->nclients; i++) {
            const struct hg_config_client *c = &cfg->clients[i];
            check(c->name && c->name[0] && strlen(c->name) <= 64);
            check(c->match_uri || c->match_dns || c->match_cn ||
                  c->match_thumbprint);
            check(!c->match_thumbprint || strlen(c->match_thumbprint) == 43);
            check_list(c->roles, c->nroles);
            check_list(c->regions, c->nregions);
            for (size_t j = 0; j < i; j++)
                check(strcmp(cfg->clients[j].name, c->name) != 0);
        }
    }
    hg_config_free(cfg);
    free(text);
    return 0;
}
