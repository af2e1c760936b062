/* SPDX-License-Identifier: Apache-2.0
 *
 * policy_uses.c — whether a verb's decision can depend on resource
 * attributes: the API asks before it parses a request body for `when`
 * conditions, so verbs whose rules never test attributes cost no parse.
 */
#include <string.h>

#include "policy/policy_int.h"

static int list_has_cond(const struct hg_policy *p, const struct pol_list *l)
{
    for (uint32_t i = 0; i < l->ndeny; i++)
        if (p->rule[l->deny[i]].ncond)
            return 1;
    for (uint32_t i = 0; i < l->nallow; i++)
        if (p->rule[l->allow[i]].ncond)
            return 1;
    return 0;
}

int hg_policy_uses_resource(const struct hg_policy *p, const char *verb)
{
    if (!p || !verb || p->none)
        return 0;
    if (list_has_cond(p, &p->all))
        return 1;
    uint32_t v = policy__names_find(&p->verbs, verb);
    if (v != POL_NONE && p->by_verb && list_has_cond(p, &p->by_verb[v]))
        return 1;
    const char *colon = strchr(verb, ':');
    char noun[POL_MAX_NAME + 1];
    size_t n = colon ? (size_t)(colon - verb) : 0;
    if (!colon || n > POL_MAX_NAME)
        return 0;
    memcpy(noun, verb, n);
    noun[n] = '\0';
    uint32_t k = policy__names_find(&p->nouns, noun);
    return k != POL_NONE && p->by_noun && list_has_cond(p, &p->by_noun[k]);
}
