/* SPDX-License-Identifier: Apache-2.0
 * status.c — names and messages for hg_status, from the X-macro table. */
#include "common/status.h"

static const char *const names[] = {
#define HG_X_NAME(name, msg) #name,
    HG_STATUS_TABLE(HG_X_NAME)
#undef HG_X_NAME
};

static const char *const msgs[] = {
#define HG_X_MSG(name, msg) msg,
    HG_STATUS_TABLE(HG_X_MSG)
#undef HG_X_MSG
};

const char *hg_status_name(hg_status st)
{
    if ((unsigned)st >= HG_STATUS__COUNT)
        return "HG_UNKNOWN";
    return names[st];
}

const char *hg_status_str(hg_status st)
{
    if ((unsigned)st >= HG_STATUS__COUNT)
        return "unknown status";
    return msgs[st];
}
