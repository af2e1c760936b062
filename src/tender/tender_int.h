/* SPDX-License-Identifier: Apache-2.0
 *
 * tender_int.h — helpers shared by the files of tender/ and no one else:
 * strict readers of JSON members that fill a struct hg_verr with the JSON
 * Pointer of the bad value and a sentence saying what is expected, the
 * RFC 3339 reader, and UUID syntax. They never accept a value they cannot
 * write back exactly (times are whole milliseconds between 1970 and 9999),
 * so what the parsers accept always round-trips through to_json/from_json.
 */
#ifndef HG_TENDER_TENDER_INT_H
#define HG_TENDER_TENDER_INT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "tender/tender.h"

#define TENDER_PTR_MAX sizeof(((struct hg_verr *)0)->pointer)
#define TENDER_BODY_MAX ((size_t)1 << 20)

/* Fill *err (status 400 or 422) and return HG_EINVAL. `ptr` is an escaped
 * JSON Pointer; both it and the sentence are cut at a UTF-8 boundary when
 * too long. */
hg_status tender__fail(struct hg_verr *err, int status, const char *ptr, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The pointer of member `name` under `parent` (RFC 6901: '~' → "~0",
 * '/' → "~1"), and of array element i. Cut at a UTF-8 boundary if long. */
void tender__ptr_member(char out[TENDER_PTR_MAX], const char *parent, const char *name);
void tender__ptr_index(char out[TENDER_PTR_MAX], const char *parent, size_t i);
/* A pointer as people read it in a sentence: "/route/0/from" →
 * "route[0].from"; "" → "the document". */
void tender__label(char out[TENDER_PTR_MAX], const char *ptr);
/* At most 64 bytes of an untrusted name for quoting in a sentence, cut at
 * a UTF-8 boundary with "..." appended when cut. */
void tender__quote(char out[72], const char *name);

/* Load `len` bytes of JSON into a new object (JSON_REJECT_DUPLICATES,
 * at most TENDER_BODY_MAX bytes). HG_OK, HG_EINVAL (400, pointer ""),
 * HG_ENOMEM is not distinguishable in jansson and reads as HG_EINVAL. */
hg_status tender__load(const char *body, size_t len, json_t **out, struct hg_verr *err);

/* One row of an object's member table. */
enum {
    TF_SERVER = 1,   /* assigned by the server: refused from clients */
    TF_REQUIRED = 2, /* required from clients */
    TF_STORED = 4,   /* required when read back from the store */
};
struct tender__field {
    const char *name;
    unsigned flags;
};

/* Check the members of object `obj` at `ptr` against `fields` (n rows):
 * an unknown member → 400 naming it; a server-owned member when
 * `from_client` → 400; a required member (TF_REQUIRED from clients,
 * TF_STORED from the store) that is missing → 400. `what` names the object
 * in sentences ("a tender"). A non-object → 400 saying an object is
 * expected. */
hg_status tender__check_members(const json_t *obj, const char *ptr, const char *what,
                                const struct tender__field *fields, size_t n, int from_client,
                                struct hg_verr *err);

/* Value readers: `v` is the member (never NULL), `ptr` its pointer. */
enum tender_str_kind {
    TS_TEXT, /* any UTF-8 without control characters */
    TS_TAG,  /* [A-Za-z0-9_.:-] */
};
hg_status tender__read_str(const json_t *v, const char *ptr, enum tender_str_kind kind,
                           size_t min, size_t max, char *out, struct hg_verr *err);
hg_status tender__read_bool(const json_t *v, const char *ptr, int *out, struct hg_verr *err);
/* A finite number in [lo, hi]; `lo_open` makes the lower bound exclusive. */
hg_status tender__read_num(const json_t *v, const char *ptr, double lo, int lo_open, double hi,
                           const char *unit, double *out, struct hg_verr *err);
hg_status tender__read_int(const json_t *v, const char *ptr, int64_t lo, int64_t hi,
                           int64_t *out, struct hg_verr *err);
hg_status tender__read_time(const json_t *v, const char *ptr, int64_t *out, struct hg_verr *err);
/* {"start": time, "end": time}. Whether it is empty is a business rule,
 * checked after every 400 by tender__window_rule. */
hg_status tender__read_window(const json_t *v, const char *ptr, struct hg_window *out,
                              struct hg_verr *err);
/* 422 at ptr + "/end" when end <= start. */
hg_status tender__window_rule(const struct hg_window *w, const char *ptr, struct hg_verr *err);
/* {"lat": n, "lon": n} plus `name` when name_out is not NULL (required). */
hg_status tender__read_geo(const json_t *v, const char *ptr, struct hg_geo *geo, char *name_out,
                           struct hg_verr *err);
/* {"currency": "USD", "amount": n} */
hg_status tender__read_money(const json_t *v, const char *ptr, struct hg_money *out,
                             struct hg_verr *err);
/* A UUID (8-4-4-4-12 hex, either case), written lower-case. */
hg_status tender__read_uuid(const json_t *v, const char *ptr, char out[HG_TENDER_ID_LEN + 1],
                            struct hg_verr *err);

/* The end of every writer: `o` when every tender__put succeeded (ok), else
 * NULL with o released. */
json_t *tender__built(json_t *o, int ok);
/* Writers used by to_json: NULL-safe setters that record a failure. */
json_t *tender__time_json(int64_t ms);
json_t *tender__num_json(double v);
json_t *tender__window_json(const struct hg_window *w);
json_t *tender__money_json(const struct hg_money *m);
/* json_object_set_new that tolerates v == NULL by turning *ok to 0. */
void tender__put(json_t *obj, const char *key, json_t *v, int *ok);

#endif
