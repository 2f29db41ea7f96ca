/* interim staged writes (replaced by common/cs.c's) */
#include "cs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cs_stage_file(const char *path, const void *data, size_t len, char *tmp, size_t tmp_cap,
                  cs_err *err)
{
    int rc = cs_mkdir_parent(path, err);
    if (rc)
        return rc;
    const char *slash = strrchr(path, '/');
    int dn = slash ? (int)(slash - path + 1) : 0;
    snprintf(tmp, tmp_cap, "%.*s.%s.tmp-%ld-XXXXXX", dn, path, slash ? slash + 1 : path,
             (long)getpid());
    int fd = mkstemp(tmp);
    if (fd < 0)
        return cs_err_set(err, CS_EIO, path, 0, 0, "cannot create a file beside it: %s",
                          strerror(errno));
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = errno;
            close(fd);
            unlink(tmp);
            return cs_err_set(err, CS_EIO, path, 0, 0, "write failed: %s", strerror(e));
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        unlink(tmp);
        return cs_err_set(err, CS_EIO, path, 0, 0, "write failed: %s", strerror(errno));
    }
    return 0;
}

int cs_commit_file(const char *tmp, const char *path, cs_err *err)
{
    if (rename(tmp, path) != 0)
        return cs_err_set(err, CS_EIO, path, 0, 0, "rename failed: %s", strerror(errno));
    return 0;
}

void cs_discard_file(const char *tmp)
{
    if (tmp && tmp[0])
        unlink(tmp);
}
