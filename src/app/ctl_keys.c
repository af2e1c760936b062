/* SPDX-License-Identifier: Apache-2.0
 *
 * ctl_keys.c — `haulctl keys`: rotate the token signing key and list the
 * keys of a keys directory (auth/keyring.h). The directory comes from the
 * daemon's configuration (auth.keys_dir, else <data_dir>/keys, with its
 * signing_alg, key_publish_delay, token_lifetime and leeway) or is named
 * with --dir. A running haulgated notices a rotation by itself (it checks
 * the manifest every auth.key_check_interval, and on SIGHUP). Never prints
 * key material; `list` never adds or removes a key. Exit codes: 0
 * done, 1 the operation failed, 2 usage error.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "app/config.h"
#include "app/ctl.h"
#include "auth/keyring.h"
#include "common/util.h"

/* With --dir and no config, prune as if tokens lived as long as the config
 * allows (auth.token_lifetime <= 24h, auth.leeway <= 5m): a key pruned
 * late only stays in the JWKS longer, a key pruned early breaks tokens a
 * daemon with a long lifetime issued. */
#define DIR_DEFAULT_LIFETIME (24 * 3600)
#define DIR_DEFAULT_LEEWAY (5 * 60)
#define DIR_DEFAULT_DELAY (5 * 60)

struct keys_args {
    const char *config, *dir, *alg, *delay, *lifetime, *leeway;
};

static const struct {
    const char *name;
    size_t off;
    int rotate_only;
} opts[] = {
    {"--config", offsetof(struct keys_args, config), 0},
    {"--dir", offsetof(struct keys_args, dir), 0},
    {"--alg", offsetof(struct keys_args, alg), 1},
    {"--publish-delay", offsetof(struct keys_args, delay), 1},
    {"--lifetime", offsetof(struct keys_args, lifetime), 1},
    {"--leeway", offsetof(struct keys_args, leeway), 1},
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: haulctl keys <verb> (--config FILE | --dir DIR) [options]\n\n"
            "  rotate   add a new signing key, published now, signing after the publish delay;\n"
            "           the current key stops signing then and verifies until its tokens\n"
            "           expired; keys past that are removed\n"
            "  list     kid, alg, state and timeline of every key\n\n"
            "  --config FILE          haulgated's configuration: auth.keys_dir (default\n"
            "                         <data_dir>/keys), signing_alg, key_publish_delay,\n"
            "                         token_lifetime and leeway\n"
            "  --dir DIR              the keys directory itself; rotate then takes:\n"
            "    --alg ES256|EdDSA    algorithm of the new key (default ES256)\n"
            "    --publish-delay S    seconds before the new key signs (default %d)\n"
            "    --lifetime S         token lifetime in seconds, for pruning (default %d,\n"
            "    --leeway S           and leeway %d: the largest the config allows)\n\n"
            "Run it as the user haulgated runs as: key files are created mode 0600.\n"
            "A running haulgated picks the rotation up within auth.key_check_interval\n"
            "(or at once on SIGHUP). See docs/internals/tokens.md.\n",
            DIR_DEFAULT_DELAY, DIR_DEFAULT_LIFETIME, DIR_DEFAULT_LEEWAY);
}

static int usage_error(const char *verb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int usage_error(const char *verb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "haulctl keys %s: ", verb);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    fprintf(stderr, "usage: haulctl keys %s (--config FILE | --dir DIR) [options]; "
            "'haulctl keys --help' says more\n", verb);
    return 2;
}

static int parse(const char *verb, int rotate, int argc, char **argv, struct keys_args *a)
{
    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *eq = strchr(arg, '=');
        size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
        size_t k = 0;
        for (; k < sizeof opts / sizeof opts[0]; k++)
            if (strlen(opts[k].name) == len && !strncmp(opts[k].name, arg, len))
                break;
        if (k == sizeof opts / sizeof opts[0])
            return usage_error(verb, "unexpected argument '%s'", arg);
        if (opts[k].rotate_only && !rotate)
            return usage_error(verb, "option %s applies to rotate only", opts[k].name);
        const char **slot = (const char **)(void *)((char *)a + opts[k].off);
        if (*slot)
            return usage_error(verb, "option %s given twice", opts[k].name);
        if (eq)
            *slot = eq + 1;
        else if (i + 1 < argc)
            *slot = argv[++i];
        else
            return usage_error(verb, "option %s needs a value", opts[k].name);
    }
    if (!!a->config == !!a->dir)
        return usage_error(verb, "%s", "name the keys with exactly one of --config FILE "
                           "or --dir DIR");
    if (a->config && (a->alg || a->delay || a->lifetime || a->leeway))
        return usage_error(verb, "%s", "--alg, --publish-delay, --lifetime and --leeway go "
                           "with --dir; with --config they come from the configuration");
    return 0;
}

static int secs(const char *verb, const char *flag, const char *s, int64_t min, int64_t *out)
{
    if (!s)
        return 0;
    if (hg_parse_i64(s, min, 366LL * 24 * 3600, out) != HG_OK) {
        fprintf(stderr, "haulctl keys %s: %s needs whole seconds (%lld or more), got '%s'\n",
                verb, flag, (long long)min, s);
        return 2;
    }
    return 0;
}

/* Fill o (and dirbuf, which o->dir points to) from --config or --dir. */
static int resolve(const char *verb, const struct keys_args *a, struct hg_keyring_opts *o,
                   char *dirbuf, size_t cap)
{
    memset(o, 0, sizeof *o);
    if (a->config) {
        struct hg_config *cfg = NULL;
        struct hg_err err;
        hg_err_clear(&err);
        if (hg_config_load(a->config, &cfg, &err) != HG_OK) {
            fprintf(stderr, "haulctl keys %s: %s\n", verb, hg_err_msg(&err));
            return 1;
        }
        int w = cfg->auth.keys_dir ? snprintf(dirbuf, cap, "%s", cfg->auth.keys_dir)
                                   : snprintf(dirbuf, cap, "%s/keys", cfg->data_dir);
        o->alg = (cfg->auth.signing_alg && !strcmp(cfg->auth.signing_alg, "EdDSA"))
                     ? HG_JOSE_EDDSA
                     : HG_JOSE_ES256;
        /* rounded up: pruning late is harmless, early is not */
        o->publish_delay_s = (cfg->auth.key_publish_delay_ms + 999) / 1000;
        o->token_lifetime_s = (cfg->auth.token_lifetime_ms + 999) / 1000;
        o->leeway_s = (cfg->auth.leeway_ms + 999) / 1000;
        hg_config_free(cfg);
        if (w < 0 || (size_t)w >= cap) {
            fprintf(stderr, "haulctl keys %s: the keys directory path is too long\n", verb);
            return 1;
        }
    } else {
        if (hg_strlcpy(dirbuf, a->dir, cap) != HG_OK) {
            fprintf(stderr, "haulctl keys %s: the keys directory path is too long\n", verb);
            return 1;
        }
        o->alg = HG_JOSE_ES256;
        if (a->alg && !strcmp(a->alg, "EdDSA"))
            o->alg = HG_JOSE_EDDSA;
        else if (a->alg && strcmp(a->alg, "ES256") != 0)
            return usage_error(verb, "--alg must be ES256 or EdDSA, not '%s'", a->alg);
        o->publish_delay_s = DIR_DEFAULT_DELAY;
        o->token_lifetime_s = DIR_DEFAULT_LIFETIME;
        o->leeway_s = DIR_DEFAULT_LEEWAY;
        int rc = secs(verb, "--publish-delay", a->delay, 0, &o->publish_delay_s);
        if (!rc)
            rc = secs(verb, "--lifetime", a->lifetime, 1, &o->token_lifetime_s);
        if (!rc)
            rc = secs(verb, "--leeway", a->leeway, 0, &o->leeway_s);
        if (rc)
            return rc;
    }
    o->dir = dirbuf;
    return 0;
}

static int manifest_exists(const char *dir)
{
    char path[4096];
    struct stat sb;
    int w = snprintf(path, sizeof path, "%s/keys.json", dir);
    return w > 0 && (size_t)w < sizeof path && stat(path, &sb) == 0;
}

static const char *state_name(int s)
{
    switch (s) {
    case HG_KEY_PENDING: return "pending";
    case HG_KEY_CURRENT: return "current";
    case HG_KEY_RETIRED: return "retired";
    case HG_KEY_EXPIRED: return "expired";
    default: return "?";
    }
}

static void when(int64_t unix_s, char out[HG_RFC3339_LEN + 1])
{
    if (unix_s == 0)
        hg_strlcpy(out, "-", HG_RFC3339_LEN + 1);
    else
        hg_rfc3339(unix_s * 1000, out);
}

static int cmd_rotate(int argc, char **argv)
{
    struct keys_args a;
    struct hg_keyring_opts o;
    char dir[4096], kid[HG_JWK_KID_MAX + 1], t1[HG_RFC3339_LEN + 1];
    struct hg_keyring *kr = NULL;
    struct hg_err err;
    int rc = parse("rotate", 1, argc, argv, &a);
    if (!rc)
        rc = resolve("rotate", &a, &o, dir, sizeof dir);
    if (rc)
        return rc;
    hg_err_clear(&err);
    int64_t now = hg_wall_ms() / 1000;
    int fresh = !manifest_exists(dir);
    if (hg_keyring_open(&o, now, &kr, &err) != HG_OK) {
        fprintf(stderr, "haulctl keys rotate: %s\n", hg_err_msg(&err));
        return 1;
    }
    struct hg_keyring_info info[HG_KEYRING_MAX_KEYS];
    if (fresh) {
        /* an empty directory got its first key, active at once: rotating
         * it away again straight after would only delay signing */
        size_t n = hg_keyring_list(kr, now, info, HG_KEYRING_MAX_KEYS);
        printf("created the first key %s (%s) in %s; it signs from now\n",
               n ? info[0].kid : "?", hg_jose_alg_name(o.alg), dir);
        hg_keyring_close(kr);
        return 0;
    }
    if (hg_keyring_rotate(kr, now, kid, sizeof kid, &err) != HG_OK) {
        fprintf(stderr, "haulctl keys rotate: %s\n", hg_err_msg(&err));
        hg_keyring_close(kr);
        return 1;
    }
    when(now + o.publish_delay_s, t1);
    if (o.publish_delay_s > 0)
        printf("new key %s (%s) published now; it signs from %s (in %lld s)\n", kid,
               hg_jose_alg_name(o.alg), t1, (long long)o.publish_delay_s);
    else
        printf("new key %s (%s) published and signing now (no publish delay: verifiers "
               "that cached the JWKS refetch it on the unknown kid)\n",
               kid, hg_jose_alg_name(o.alg));
    size_t n = hg_keyring_list(kr, now, info, HG_KEYRING_MAX_KEYS);
    for (size_t i = 0; i < n; i++) {
        if (info[i].retires != now + o.publish_delay_s || !strcmp(info[i].kid, kid))
            continue;
        char t2[HG_RFC3339_LEN + 1];
        when(info[i].retires + o.token_lifetime_s + o.leeway_s, t2);
        printf("key %s stops signing then and verifies until %s\n", info[i].kid, t2);
    }
    printf("a running haulgated picks this up within auth.key_check_interval, or at once "
           "on SIGHUP\n");
    hg_keyring_close(kr);
    return 0;
}

static int cmd_list(int argc, char **argv)
{
    struct keys_args a;
    struct hg_keyring_opts o;
    char dir[4096];
    struct hg_keyring *kr = NULL;
    struct hg_err err;
    int rc = parse("list", 0, argc, argv, &a);
    if (!rc)
        rc = resolve("list", &a, &o, dir, sizeof dir);
    if (rc)
        return rc;
    if (!manifest_exists(dir)) {
        fprintf(stderr,
                "haulctl keys list: no keys in %s (no keys.json): haulgated creates the first "
                "key when it starts, or run `haulctl keys rotate`\n",
                dir);
        return 1;
    }
    hg_err_clear(&err);
    int64_t now = hg_wall_ms() / 1000;
    if (hg_keyring_open(&o, now, &kr, &err) != HG_OK) {
        fprintf(stderr, "haulctl keys list: %s\n", hg_err_msg(&err));
        return 1;
    }
    struct hg_keyring_info info[HG_KEYRING_MAX_KEYS];
    size_t n = hg_keyring_list(kr, now, info, HG_KEYRING_MAX_KEYS);
    printf("%-43s  %-5s  %-7s  %-24s  %-24s  %s\n", "KID", "ALG", "STATE", "CREATED",
           "ACTIVATES", "RETIRES");
    for (size_t i = 0; i < n; i++) {
        char c[HG_RFC3339_LEN + 1], ac[HG_RFC3339_LEN + 1], r[HG_RFC3339_LEN + 1];
        when(info[i].created, c);
        when(info[i].activates, ac);
        when(info[i].retires, r);
        printf("%-43s  %-5s  %-7s  %-24s  %-24s  %s\n", info[i].kid,
               hg_jose_alg_name(info[i].alg), state_name(info[i].state), c, ac, r);
    }
    hg_keyring_close(kr);
    return 0;
}

static const struct hg_ctl_verb verbs[] = {
    {"rotate", cmd_rotate, "add a new signing key, published before it signs"},
    {"list", cmd_list, "list the keys and their timeline"},
};

int hg_ctl_keys(int argc, char **argv)
{
    return hg_ctl_dispatch("haulctl keys", verbs, sizeof verbs / sizeof verbs[0], usage, argc,
                           argv);
}
