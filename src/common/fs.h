/* SPDX-License-Identifier: Apache-2.0
 *
 * fs.h — the few file-system operations several modules need done the same
 * careful way: a private directory (mkdir -p, the last component 0700), a
 * full write that survives EINTR and short writes, an fsync of a directory,
 * a bounded read of a whole file, and an atomic file replace (temporary file created 0600 beside the target,
 * chmod, write, fsync, rename, fsync the directory) so a reader — haulgated
 * on SIGHUP, a verifier — sees the old file or the new one, never a mix, and
 * a secret is never briefly readable by others.
 */
#ifndef HG_COMMON_FS_H
#define HG_COMMON_FS_H

#include <stddef.h>
#include <sys/types.h>
#include "common/err.h"

/* Create `path` and any missing parents (parents with 0777 & umask, the last
 * component 0700). If the last component exists with group/other bits set,
 * they are removed and *tightened (may be NULL) is set to 1. HG_ESYS with a
 * message naming the directory on failure. */
hg_status hg_fs_mkdir_private(const char *path, int *tightened, struct hg_err *err);

/* Write all n bytes to fd, retrying on EINTR and short writes. HG_EIO on
 * failure, with errno left as write(2) set it. */
hg_status hg_fs_write_all(int fd, const void *p, size_t n);

/* fsync a directory so a rename or create in it is durable. HG_EIO. */
hg_status hg_fs_fsync_dir(const char *dir, struct hg_err *err);

/* Replace `path` atomically with n bytes of `data`, mode `mode`. HG_ETOOBIG
 * for an over-long path, HG_EIO with a message (what failed, on which file,
 * what to check) otherwise; the temporary file is removed on failure. */
hg_status hg_fs_write_atomic(const char *path, const void *data, size_t n, mode_t mode,
                             struct hg_err *err);

/* Read the regular file `path` whole into a malloc'd buffer (*out, NUL-
 * terminated, *len bytes), refusing more than max bytes without trusting
 * st_size (one byte past the limit is read to catch a growing file).
 * `what` names the file in messages ("policy file") and `hint` (may be
 * NULL) says what to check when it cannot be opened. HG_ENOTFOUND / HG_EIO
 * (cannot open or read, not a regular file), HG_ETOOBIG (over max),
 * HG_ENOMEM; each with "PATH: ..." in err. */
hg_status hg_fs_read_bounded(const char *path, size_t max, const char *what, const char *hint,
                             char **out, size_t *len, struct hg_err *err);

#endif
