/* Test-only LD_PRELOAD shim for the compliance tests: logs every mount(2) and
 * umount2(2) call and returns errnos from a script, so that nfs-utils' mount.nfs
 * and ours can be observed in exactly the same way on a kernel without NFS.
 *
 *   SHIM_LOG=<file>           one line per call
 *   SHIM_ERRNOS=EINVAL,0,...  results in call order (0 = success; then success)
 *
 * Both are read when the library is loaded: a setuid helper run by a user
 * clears its environment first thing (tests/usermount_hostile.rs).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

static int calls;
static char *shim_log, *shim_errnos;

__attribute__((constructor)) static void shim_init(void)
{
    const char *l = getenv("SHIM_LOG"), *e = getenv("SHIM_ERRNOS");
    shim_log = l ? strdup(l) : NULL;
    shim_errnos = e ? strdup(e) : NULL;
}

static int errno_by_name(const char *n, size_t len)
{
    static const struct { const char *name; int val; } t[] = {
        {"EPERM", EPERM}, {"ENOENT", ENOENT}, {"EIO", EIO}, {"EACCES", EACCES},
        {"EBUSY", EBUSY}, {"EINVAL", EINVAL}, {"ENODEV", ENODEV}, {"ESTALE", ESTALE},
        {"EOPNOTSUPP", EOPNOTSUPP}, {"EPROTONOSUPPORT", EPROTONOSUPPORT},
        {"ECONNREFUSED", ECONNREFUSED}, {"ETIMEDOUT", ETIMEDOUT},
        {"EHOSTUNREACH", EHOSTUNREACH}, {"EAGAIN", EAGAIN}, {"EPROTO", EPROTO},
        {"ENOTDIR", ENOTDIR}, {"EFAULT", EFAULT},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strlen(t[i].name) == len && strncmp(t[i].name, n, len) == 0)
            return t[i].val;
    return 0;
}

static int next_result(void)
{
    const char *s = shim_errnos;
    int i = 0;
    if (!s)
        return 0;
    while (*s) {
        const char *e = strchr(s, ',');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        if (i == calls)
            return errno_by_name(s, len);
        i++;
        if (!e)
            break;
        s = e + 1;
    }
    return 0;
}

static void log_line(const char *fmt, const char *a, const char *b, const char *c,
                     unsigned long flags, const char *d, int err)
{
    const char *p = shim_log;
    FILE *f;
    if (!p || !(f = fopen(p, "a")))
        return;
    fprintf(f, fmt, a, b, c, flags, d, err);
    fclose(f);
}

int mount(const char *src, const char *tgt, const char *type, unsigned long flags,
          const void *data)
{
    int err = next_result();
    calls++;
    log_line("mount %s %s %s %#lx %s => %d\n", src ? src : "(null)", tgt ? tgt : "(null)",
             type ? type : "(null)", flags, data ? (const char *)data : "(null)", err);
    if (err) {
        errno = err;
        return -1;
    }
    return 0;
}

int umount2(const char *tgt, int flags)
{
    int err = next_result();
    calls++;
    log_line("umount2 %s%s%s %#lx%s => %d\n", tgt, "", "", (unsigned long)flags, "", err);
    if (err) {
        errno = err;
        return -1;
    }
    return 0;
}

int umount(const char *tgt)
{
    return umount2(tgt, 0);
}
