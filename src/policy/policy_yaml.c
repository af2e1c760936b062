/* SPDX-License-Identifier: Apache-2.0
 *
 * policy_yaml.c — a policy file's YAML as a small tree of scalars, lists
 * and mappings with the line of each value, read with libyaml's event
 * parser. Only plain YAML is accepted: anchors, aliases and tags change
 * what a file means in ways a reviewer of a security policy may not see,
 * so they are refused, as are several documents. Every dimension is
 * bounded (nesting, values, bytes per value) so a hostile file costs at
 * most a few megabytes and never recurses deeply.
 */
#include "policy/policy_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

struct yctx {
    const char *name;
    struct hg_err *err;
    size_t nodes;
};

__attribute__((format(printf, 3, 4)))
static hg_status yfail(struct yctx *c, int line, const char *fmt, ...)
{
    char body[HG_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    if (line > 0)
        return hg_err_set(c->err, HG_ECONFIG, "%s:%d: %s", c->name, line, body);
    return hg_err_set(c->err, HG_ECONFIG, "%s: %s", c->name, body);
}

static hg_status ynomem(struct yctx *c)
{
    return hg_err_set(c->err, HG_ENOMEM, "%s: out of memory while reading the policy",
                      c->name);
}

void policy__esc(const char *s, size_t len, char *out, size_t cap, size_t max)
{
    size_t o = 0;
    bool cut = len > max;
    if (cap == 0)
        return;
    if (cut)
        len = max;
    for (size_t i = 0; i < len && o + 5 < cap; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') {
            out[o++] = '\\';
            out[o++] = (char)ch;
        } else if (ch < 0x20 || ch == 0x7f) {
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", ch);
        } else {
            out[o++] = (char)ch;
        }
    }
    if (cut && o + 4 <= cap) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o < cap ? o : cap - 1] = '\0';
}

bool policy__yaml_is_null(const struct pol_node *n)
{
    if (n->kind != POL_SCALAR || !n->plain)
        return false;
    return n->len == 0 || strcmp(n->s, "~") == 0 || strcmp(n->s, "null") == 0 ||
           strcmp(n->s, "Null") == 0 || strcmp(n->s, "NULL") == 0;
}

void policy__yaml_free(struct pol_node *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->nkid; i++)
        policy__yaml_free(n->kid[i]);
    free(n->kid);
    free(n->s);
    free(n);
}

static hg_status add_kid(struct yctx *c, struct pol_node *parent, struct pol_node *kid)
{
    if (parent->nkid == parent->cap) {
        size_t ncap = parent->cap ? parent->cap * 2 : 4;
        struct pol_node **k = realloc(parent->kid, ncap * sizeof *k);
        if (!k)
            return ynomem(c);
        parent->kid = k;
        parent->cap = ncap;
    }
    parent->kid[parent->nkid++] = kid;
    return HG_OK;
}

static hg_status syntax_error(struct yctx *c, const yaml_parser_t *p, const char *text,
                              size_t len)
{
    if (p->error == YAML_MEMORY_ERROR)
        return ynomem(c);
    const char *problem = p->problem ? p->problem : "unknown error";
    if (p->error == YAML_READER_ERROR) {
        int line = 1;
        for (size_t i = 0; i < p->problem_offset && i < len; i++)
            line += text[i] == '\n';
        return yfail(c, line,
                     "invalid YAML: %s at byte %zu; the file must be UTF-8 text without "
                     "control characters", problem, p->problem_offset);
    }
    int line = (int)p->problem_mark.line + 1;
    if (p->context)
        return yfail(c, line,
                     "invalid YAML: %s (%s that starts at line %d); check the indentation "
                     "and quoting", problem, p->context, (int)p->context_mark.line + 1);
    return yfail(c, line, "invalid YAML: %s; check the indentation and quoting", problem);
}

static hg_status plain_only(struct yctx *c, int line, const yaml_char_t *anchor,
                            const yaml_char_t *tag)
{
    char e[80];
    if (anchor) {
        policy__esc((const char *)anchor, strlen((const char *)anchor), e, sizeof e, 40);
        return yfail(c, line,
                     "anchors (&%s) are not supported in a policy; write each value out "
                     "in full", e);
    }
    if (tag) {
        static const char ns[] = "tag:yaml.org,2002:";
        const char *t = (const char *)tag;
        size_t o = 0;
        if (strncmp(t, ns, sizeof ns - 1) == 0) {
            t += sizeof ns - 1;
            memcpy(e, "!!", 2);
            o = 2;
        }
        policy__esc(t, strlen(t), e + o, sizeof e - o, 40);
        return yfail(c, line, "tags (%s) are not supported in a policy; remove the tag", e);
    }
    return HG_OK;
}

hg_status policy__yaml_parse(const char *name, const char *text, size_t len,
                             struct pol_node **out, struct hg_err *err)
{
    struct yctx c = {.name = name, .err = err};
    yaml_parser_t p;
    yaml_event_t ev;
    struct pol_node *stack[POL_MAX_DEPTH];
    struct pol_node *root = NULL;
    int depth = 0, docs = 0;
    bool done = false;
    hg_status rc = HG_OK;

    *out = NULL;
    if (!yaml_parser_initialize(&p))
        return ynomem(&c);
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    while (!done) {
        if (!yaml_parser_parse(&p, &ev)) {
            rc = syntax_error(&c, &p, text, len);
            goto out;
        }
        int line = (int)ev.start_mark.line + 1;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1)
                rc = yfail(&c, line,
                           "the file holds more than one YAML document ('---'); put the "
                           "whole policy in one document");
            else if (ev.data.document_start.tag_directives.start !=
                     ev.data.document_start.tag_directives.end)
                rc = yfail(&c, line, "%%TAG directives are not supported; remove them");
            break;
        case YAML_ALIAS_EVENT: {
            char e[80];
            const char *a = (const char *)ev.data.alias.anchor;
            policy__esc(a, strlen(a), e, sizeof e, 40);
            rc = yfail(&c, line,
                       "aliases (*%s) are not supported in a policy; write the value out "
                       "in full", e);
            break;
        }
        case YAML_SCALAR_EVENT:
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT: {
            struct pol_node *n;
            if (ev.type == YAML_SCALAR_EVENT)
                rc = plain_only(&c, line, ev.data.scalar.anchor, ev.data.scalar.tag);
            else if (ev.type == YAML_SEQUENCE_START_EVENT)
                rc = plain_only(&c, line, ev.data.sequence_start.anchor,
                                ev.data.sequence_start.tag);
            else
                rc = plain_only(&c, line, ev.data.mapping_start.anchor,
                                ev.data.mapping_start.tag);
            if (rc != HG_OK)
                break;
            if (ev.type != YAML_SCALAR_EVENT && depth == POL_MAX_DEPTH) {
                rc = yfail(&c, line, "lists and mappings nest deeper than %d levels; a "
                           "policy needs at most 5", POL_MAX_DEPTH);
                break;
            }
            if (ev.type == YAML_SCALAR_EVENT && ev.data.scalar.length > POL_MAX_SCALAR) {
                rc = yfail(&c, line, "a value is %zu bytes long; at most %d are allowed",
                           ev.data.scalar.length, POL_MAX_SCALAR);
                break;
            }
            if (++c.nodes > POL_MAX_NODES) {
                rc = yfail(&c, line, "the file holds more than %d values; split the rules "
                           "or simplify them", POL_MAX_NODES);
                break;
            }
            n = calloc(1, sizeof *n);
            if (!n) {
                rc = ynomem(&c);
                break;
            }
            n->line = line;
            if (ev.type == YAML_SCALAR_EVENT) {
                n->kind = POL_SCALAR;
                n->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
                n->len = ev.data.scalar.length;
                n->s = malloc(n->len + 1);
                if (!n->s) {
                    free(n);
                    rc = ynomem(&c);
                    break;
                }
                memcpy(n->s, ev.data.scalar.value, n->len);
                n->s[n->len] = '\0';
            } else {
                n->kind = ev.type == YAML_SEQUENCE_START_EVENT ? POL_SEQ : POL_MAP;
            }
            if (depth == 0) {
                root = n;   /* one document, so one root */
            } else if ((rc = add_kid(&c, stack[depth - 1], n)) != HG_OK) {
                policy__yaml_free(n);
                break;
            }
            if (n->kind != POL_SCALAR)
                stack[depth++] = n;
            break;
        }
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            depth--;
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
        if (rc != HG_OK)
            goto out;
    }
    *out = root;
    root = NULL;
out:
    policy__yaml_free(root);
    yaml_parser_delete(&p);
    return rc;
}
