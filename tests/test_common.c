#include "cs.h"
#include "cs_buf.h"
#include "cs_rng.h"
#include "cs_sha256.h"
#include "t.h"

#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* The names in folder dir, one a line, in the folder's order; NULL if it cannot be read. */
static char *dir_names(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return NULL;
    cs_buf b = {0};
    const struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            cs_buf_printf(&b, "%s\n", e->d_name);
    closedir(d);
    return cs_buf_take(&b);
}

/* Whether the file at path holds exactly the n bytes of want. */
static int file_holds(const char *path, const char *want, size_t n)
{
    cs_err e;
    unsigned char *data = NULL;
    size_t len = 0;
    int ok = cs_read_file(path, &data, &len, &e) == 0 && len == n && memcmp(data, want, n) == 0;
    free(data);
    return ok;
}

static void test_buf(void)
{
    /* Nothing written: p stays NULL; take gives "". */
    cs_buf b = {0};
    T_TRUE(b.p == NULL);
    char *s = cs_buf_take(&b);
    T_STREQ(s, "");
    free(s);
    T_TRUE(b.p == NULL && b.len == 0 && b.cap == 0);

    /* An empty append still leaves a NUL-terminated string. */
    cs_buf_put(&b, NULL, 0);
    T_STREQ(b.p, "");
    T_EQ(b.len, 0);
    cs_buf_str(&b, "ab");
    cs_buf_put(&b, "cdef", 2);
    cs_buf_printf(&b, "%d-%s", 42, "x");
    T_STREQ(b.p, "abcd42-x");
    T_EQ(b.len, 8);
    T_TRUE(b.cap > b.len && !b.failed);
    /* Bytes after a NUL count in len. */
    cs_buf_put(&b, "y\0z", 3);
    T_EQ(b.len, 11);
    T_TRUE(memcmp(b.p, "abcd42-xy\0z", 12) == 0);
    cs_buf_free(&b);
    T_TRUE(b.p == NULL && b.len == 0 && b.cap == 0 && !b.failed);
    cs_buf_free(NULL);

    /* Many small appends: 200000 of them, each one character, across many growths. */
    size_t n = 200000;
    for (size_t i = 0; i < n; i++)
        cs_buf_put(&b, &"0123456789"[i % 10], 1);
    T_EQ(b.len, n);
    T_TRUE(!b.failed);
    int ok = b.p[n] == '\0';
    for (size_t i = 0; i < n; i++)
        ok &= b.p[i] == (char)('0' + i % 10);
    T_TRUE(ok);
    cs_buf_free(&b);

    /* One long string (> 64 KiB) into an empty and into a non-empty buffer. */
    size_t big = 300000;
    char *text = malloc(big + 1);
    T_TRUE(text != NULL);
    if (!text)
        return;
    for (size_t i = 0; i < big; i++)
        text[i] = (char)('a' + i % 26);
    text[big] = '\0';
    cs_buf_str(&b, text);
    T_EQ(b.len, big);
    T_TRUE(memcmp(b.p, text, big + 1) == 0);
    cs_buf_str(&b, text);
    T_EQ(b.len, 2 * big);
    T_TRUE(memcmp(b.p + big, text, big + 1) == 0);
    cs_buf_free(&b);

    /* printf of long formatted text: a field wider than the room, after a short prefix. */
    cs_buf_str(&b, "<");
    cs_buf_printf(&b, "%s|%*d|%s", text, 70000, 7, "end");
    size_t want = 1 + big + 1 + 70000 + 1 + 3;
    T_EQ(b.len, want);
    T_EQ(strlen(b.p), want);
    T_TRUE(memcmp(b.p + 1, text, big) == 0);
    T_TRUE(b.p[1 + big + 70000] == '7');
    T_STREQ(b.p + want - 5, "7|end");
    /* Many short printfs after it keep appending at the end. */
    for (int i = 0; i < 10000; i++)
        cs_buf_printf(&b, "%04d", i);
    T_EQ(b.len, want + 40000);
    T_STREQ(b.p + b.len - 8, "99989999");
    s = cs_buf_take(&b);
    T_TRUE(s != NULL && strlen(s) == want + 40000);
    T_TRUE(b.p == NULL && b.len == 0);
    free(s);
    free(text);
}

static void test_write_in_dir(const char *dir)
{
    cs_err e;
    cs_err_clear(&e);
    char path[512], sub[512];
    /* Nested missing folders are created; the file holds the bytes; no temporary file is left. */
    snprintf(path, sizeof path, "%s/w/x/y/out.bin", dir);
    T_EQ(cs_write_file_in_dir(path, "a\0b", 3, &e), 0);
    T_TRUE(file_holds(path, "a\0b", 3));
    snprintf(sub, sizeof sub, "%s/w/x/y", dir);
    char *names = dir_names(sub);
    T_STREQ(names, "out.bin\n");
    free(names);
    /* Again into the folder that now exists: replaced, still one file. */
    T_EQ(cs_write_file_in_dir(path, "second", 6, &e), 0);
    T_TRUE(file_holds(path, "second", 6));
    names = dir_names(sub);
    T_STREQ(names, "out.bin\n");
    free(names);
    /* A path without a folder part writes in the current folder. */
    char cwd[512];
    T_TRUE(getcwd(cwd, sizeof cwd) != NULL);
    T_EQ(chdir(dir), 0);
    T_EQ(cs_write_file_in_dir("plain.txt", "p", 1, &e), 0);
    T_EQ(access("plain.txt", F_OK), 0);
    T_EQ(chdir(cwd), 0);

    /* The parent is a regular file: an error that names the path, and nothing written. */
    snprintf(path, sizeof path, "%s/w/x/y/out.bin/deeper/file.txt", dir);
    cs_err_clear(&e);
    T_EQ(cs_write_file_in_dir(path, "z", 1, &e), CS_EIO);
    snprintf(sub, sizeof sub, "%s/w/x/y/out.bin", dir);
    T_STREQ(e.path, sub);
    T_CONTAINS(e.msg, "cannot create directory: a file of that name exists");
    /* The file itself as the last folder: the same. */
    snprintf(path, sizeof path, "%s/w/x/y/out.bin/file.txt", dir);
    cs_err_clear(&e);
    T_EQ(cs_write_file_in_dir(path, "z", 1, &e), CS_EIO);
    T_STREQ(e.path, sub);
    T_CONTAINS(e.msg, "a file of that name exists");
    T_EQ(cs_mkdir_parent(path, &e), CS_EIO);
    T_EQ(cs_mkdir_p(sub, &e), CS_EIO);
    /* A FIFO (or a device: never tried on /dev/null here) is not replaced by a file. */
    snprintf(path, sizeof path, "%s/out.fifo", dir);
    T_EQ(mkfifo(path, 0600), 0);
    cs_err_clear(&e);
    T_EQ(cs_write_file_in_dir(path, "z", 1, &e), CS_EIO);
    T_CONTAINS(e.msg, "is not a regular file");
    struct stat st;
    T_TRUE(stat(path, &st) == 0 && S_ISFIFO(st.st_mode));
    unlink(path);
    /* Nor a folder. */
    snprintf(path, sizeof path, "%s/w", dir);
    T_EQ(cs_write_file_atomic(path, "z", 1, &e), CS_EIO);
    T_STREQ(e.msg, "is a directory, not a file");
    /* Nothing else appeared beside the outputs. */
    names = dir_names(dir);
    T_TRUE(names && (strcmp(names, "w\nplain.txt\n") == 0 || strcmp(names, "plain.txt\nw\n") == 0));
    free(names);
}

/* Whether dir holds an entry named name. */
static int has_name(const char *dir, const char *name)
{
    char p[1200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    struct stat st;
    return lstat(p, &st) == 0;
}

static void touch(const char *dir, const char *name)
{
    char p[1200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    T_TRUE(f != NULL);
    if (f)
        fclose(f);
}

/* Temporary files that a killed writer left beside a target (.NAME.tmp-PID-XXXXXX) are removed
 * by the next write of that target when their pid is dead; a live process's are kept, and so
 * are other targets' and other names. */
static void test_stale_temps(const char *dir)
{
    /* A dead pid: a child that exited and was reaped. */
    pid_t dead = fork();
    if (dead == 0)
        _exit(0);
    T_TRUE(dead > 0);
    T_EQ(waitpid(dead, NULL, 0), dead);
    /* A live pid: a child that waits on a pipe until this test closes it. */
    int fds[2];
    T_EQ(pipe(fds), 0);
    pid_t live = fork();
    if (live == 0) {
        char c;
        close(fds[1]);
        while (read(fds[0], &c, 1) > 0)
            ;
        _exit(0);
    }
    T_TRUE(live > 0);
    close(fds[0]);

    char sub[600];
    snprintf(sub, sizeof sub, "%s/stale", dir);
    cs_err e;
    cs_err_clear(&e);
    T_EQ(cs_mkdir_p(sub, &e), 0);
    const char *target = "out.json";
    char dead_tmp[300], dead_tmp2[300], live_tmp[300], own_tmp[300], other_tmp[300], odd[300];
    snprintf(dead_tmp, sizeof dead_tmp, ".%s.tmp-%d-AbC123", target, (int)dead);
    snprintf(dead_tmp2, sizeof dead_tmp2, ".%s.tmp-%d-zz9_x0", target, (int)dead);
    snprintf(live_tmp, sizeof live_tmp, ".%s.tmp-%d-AbC123", target, (int)live);
    snprintf(own_tmp, sizeof own_tmp, ".%s.tmp-%d-AbC123", target, (int)getpid());
    snprintf(other_tmp, sizeof other_tmp, ".other.json.tmp-%d-AbC123", (int)dead);
    snprintf(odd, sizeof odd, ".%s.tmp-%dx-AbC123", target, (int)dead);
    const char *all[] = {dead_tmp, dead_tmp2, live_tmp, own_tmp, other_tmp, odd};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        touch(sub, all[i]);
    char path[700];
    snprintf(path, sizeof path, "%s/%s", sub, target);
    T_EQ(cs_write_file_in_dir(path, "{}\n", 3, &e), 0);
    T_TRUE(file_holds(path, "{}\n", 3));
    T_TRUE(!has_name(sub, dead_tmp));
    T_TRUE(!has_name(sub, dead_tmp2));
    T_TRUE(has_name(sub, live_tmp));
    T_TRUE(has_name(sub, own_tmp));
    T_TRUE(has_name(sub, other_tmp));
    T_TRUE(has_name(sub, odd));
    /* Once the writer is gone, its file goes at the next write too. */
    close(fds[1]);
    T_EQ(waitpid(live, NULL, 0), live);
    T_EQ(cs_write_file_atomic(path, "[]\n", 3, &e), 0);
    T_TRUE(!has_name(sub, live_tmp));
    T_TRUE(has_name(sub, own_tmp));
    T_TRUE(has_name(sub, other_tmp));
    /* A folder's owner removes the dead writers' files of every target, nothing else. */
    char dotted[300];
    snprintf(dotted, sizeof dotted, ".a.tmp-b.json.tmp-%d-Qq0000", (int)dead);
    touch(sub, dotted);
    cs_remove_stale_temps(sub);
    T_TRUE(!has_name(sub, other_tmp));
    T_TRUE(!has_name(sub, dotted));
    T_TRUE(has_name(sub, own_tmp));
    T_TRUE(has_name(sub, odd));
    T_TRUE(has_name(sub, target));
}

/* cs_stage_file / cs_commit_file / cs_discard_file, and the fail-early probe cs_check_writable. */
static void test_staged(const char *dir)
{
    cs_err e;
    cs_err_clear(&e);
    char path[700], sub[600], tmp[800], want[900];
    /* Staged into missing folders: the temporary file holds the bytes under its documented name,
     * the target does not exist yet. */
    snprintf(sub, sizeof sub, "%s/staged/a", dir);
    snprintf(path, sizeof path, "%s/b.bin", sub);
    T_EQ(cs_stage_file(path, "xyz", 3, tmp, sizeof tmp, &e), 0);
    snprintf(want, sizeof want, "%s/.b.bin.tmp-%d-", sub, (int)getpid());
    T_TRUE(strncmp(tmp, want, strlen(want)) == 0 && strlen(tmp) == strlen(want) + 6);
    T_TRUE(file_holds(tmp, "xyz", 3));
    T_EQ(access(path, F_OK), -1);
    struct stat st;
    T_EQ(stat(tmp, &st), 0);
    T_EQ(st.st_mode & 0777, 0644);
    /* Committed: the target holds the bytes, the temporary file is gone. */
    T_EQ(cs_commit_file(tmp, path, &e), 0);
    T_TRUE(file_holds(path, "xyz", 3));
    T_EQ(access(tmp, F_OK), -1);
    char *names = dir_names(sub);
    T_STREQ(names, "b.bin\n");
    free(names);
    /* Staged and discarded: the target keeps its bytes, nothing else is left. */
    T_EQ(cs_stage_file(path, "new", 3, tmp, sizeof tmp, &e), 0);
    cs_discard_file(tmp);
    T_TRUE(file_holds(path, "xyz", 3));
    names = dir_names(sub);
    T_STREQ(names, "b.bin\n");
    free(names);
    cs_discard_file(NULL);
    cs_discard_file("");
    /* An empty file can be staged (constsim plot stages one for gnuplot to write into). */
    T_EQ(cs_stage_file(path, NULL, 0, tmp, sizeof tmp, &e), 0);
    T_TRUE(file_holds(tmp, "", 0));
    cs_discard_file(tmp);
    /* No room for the name: an error, tmp "" and nothing created. */
    char small[8];
    T_EQ(cs_stage_file(path, "q", 1, small, sizeof small, &e), CS_EINVAL);
    T_STREQ(small, "");
    names = dir_names(sub);
    T_STREQ(names, "b.bin\n");
    free(names);
    /* A failing rename leaves the staged file for the caller to discard. */
    T_EQ(cs_stage_file(path, "r", 1, tmp, sizeof tmp, &e), 0);
    snprintf(want, sizeof want, "%s/missing/c.bin", sub);
    T_EQ(cs_commit_file(tmp, want, &e), CS_EIO);
    T_STREQ(e.path, want);
    T_CONTAINS(e.msg, "No such file or directory");
    T_EQ(access(tmp, F_OK), 0);
    cs_discard_file(tmp);
    T_EQ(access(tmp, F_OK), -1);

    /* The probe creates missing folders (as the write would) and leaves nothing else. */
    snprintf(path, sizeof path, "%s/probe/x/y/report.json", dir);
    T_EQ(cs_check_writable(path, &e), 0);
    snprintf(sub, sizeof sub, "%s/probe/x/y", dir);
    names = dir_names(sub);
    T_STREQ(names, "");
    free(names);
    T_EQ(access(path, F_OK), -1);
    /* An existing file is fine (it will be replaced) and stays as it is. */
    T_EQ(cs_write_file_in_dir(path, "old", 3, &e), 0);
    T_EQ(cs_check_writable(path, &e), 0);
    T_TRUE(file_holds(path, "old", 3));
    /* Under a regular file: bad input (exit code 2), naming the output and why. */
    snprintf(want, sizeof want, "%s/under/r.json", path);
    cs_err_clear(&e);
    T_EQ(cs_check_writable(want, &e), CS_EINVAL);
    T_EQ(cs_err_exit_code(&e), 2);
    T_STREQ(e.path, want);
    T_CONTAINS(e.msg, "cannot write this output: ");
    T_CONTAINS(e.msg, path);
    T_CONTAINS(e.msg, "a file of that name exists");
    /* A folder or a device where the file should be. */
    T_EQ(cs_check_writable(sub, &e), CS_EINVAL);
    T_STREQ(e.path, sub);
    T_CONTAINS(e.msg, "it is a folder, not a file");
    T_EQ(cs_check_writable("/dev/null", &e), CS_EINVAL);
    T_CONTAINS(e.msg, "not a regular file");
    snprintf(want, sizeof want, "%s/", sub);
    T_EQ(cs_check_writable(want, &e), CS_EINVAL);
    T_EQ(cs_check_writable("", &e), CS_EINVAL);
    /* A folder where no file can be created: /proc refuses new files to every user. */
    struct stat ps;
    if (stat("/proc/self", &ps) == 0) {
        cs_err_clear(&e);
        T_EQ(cs_check_writable("/proc/constsim-probe.json", &e), CS_EINVAL);
        T_STREQ(e.path, "/proc/constsim-probe.json");
        T_CONTAINS(e.msg, "cannot write this output: cannot create a temporary file beside it: ");
    }
}

/* FIPS 180-4 / NIST example vectors, the last one fed in uneven pieces across block ends. */
static void test_sha256(void)
{
    char hex[65];
    cs_sha256_hex("", 0, hex);
    T_STREQ(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    cs_sha256_hex("abc", 3, hex);
    T_STREQ(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"; /* 56: 2 blocks */
    cs_sha256_hex(two, strlen(two), hex);
    T_STREQ(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    cs_sha256 s;
    cs_sha256_init(&s);
    char a[1024];
    memset(a, 'a', sizeof a);
    size_t left = 1000000;
    for (size_t piece = 1; left > 0; piece = piece % 997 + 7) {
        size_t n = piece < left ? piece : left;
        cs_sha256_update(&s, a, n);
        left -= n;
    }
    uint8_t d[32];
    cs_sha256_final(&s, d);
    cs_sha256_to_hex(d, hex);
    T_STREQ(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

int main(void)
{
    test_buf();
    test_sha256();
    cs_err e;
    cs_err_clear(&e);
    T_EQ(cs_err_set(&e, CS_EINVAL, "a.yaml", 3, 9, "bad %s", "x"), CS_EINVAL);
    T_STREQ(e.msg, "bad x");
    T_EQ(e.line, 3);
    T_EQ(cs_err_exit_code(&e), 2);
    cs_err_set_at(&e, CS_EIO, "m.safetensors", 17, "short");
    T_EQ(e.offset, 17);
    T_EQ(cs_err_exit_code(&e), 1);

    size_t out = 0;
    T_EQ(cs_size_mul(SIZE_MAX / 2, 3, &out), -1);
    T_EQ(cs_size_mul(1000, 1000, &out), 0);
    T_EQ(out, 1000000);

    char dir[] = "/tmp/cs_test_common_XXXXXX";
    T_TRUE(mkdtemp(dir) != NULL);
    char sub[256], path[300];
    snprintf(sub, sizeof sub, "%s/a/b", dir);
    T_EQ(cs_mkdir_p(sub, &e), 0);
    snprintf(path, sizeof path, "%s/f.txt", sub);
    T_EQ(cs_write_file_atomic(path, "hello", 5, &e), 0);
    T_TRUE(file_holds(path, "hello", 5));
    unsigned char *data = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/missing", dir);
    T_EQ(cs_read_file(path, &data, &len, &e), CS_EINVAL); /* a missing input is bad input */
    T_CONTAINS(e.msg, "cannot open");
    T_EQ(cs_err_exit_code(&e), 2);
    /* A folder, a FIFO (refused without waiting for a writer) and /dev/null are not files. */
    T_EQ(cs_read_file(dir, &data, &len, &e), CS_EINVAL);
    T_STREQ(e.msg, "is a directory, not a file");
    snprintf(path, sizeof path, "%s/fifo", dir);
    T_EQ(mkfifo(path, 0600), 0);
    T_EQ(cs_read_file(path, &data, &len, &e), CS_EINVAL);
    T_STREQ(e.msg, "is not a regular file");
    unlink(path);
    T_EQ(cs_read_file("/dev/null", &data, &len, &e), CS_EINVAL);
    T_STREQ(e.path, "/dev/null");
    /* A size limit: from the size when it is known, while reading when it is not (/proc). */
    snprintf(path, sizeof path, "%s/eleven", dir);
    T_EQ(cs_write_file_atomic(path, "0123456789\n", 11, &e), 0);
    T_EQ(cs_read_file_max(path, 11, "test file", &data, &len, &e), 0);
    T_EQ(len, 11);
    free(data);
    T_EQ(cs_read_file_max(path, 10, "test file", &data, &len, &e), CS_EINVAL);
    T_STREQ(e.msg, "is 11 bytes, more than the 10 bytes a test file may have");
    T_TRUE(data == NULL);
    unlink(path);
    T_EQ(cs_read_file_max("/proc/self/status", 10, "test file", &data, &len, &e), CS_EINVAL);
    T_CONTAINS(e.msg, "is at least ");
    T_CONTAINS(e.msg, " bytes, more than the 10 bytes a test file may have");
    snprintf(sub, sizeof sub, "%s/in_dir", dir);
    T_EQ(cs_mkdir_p(sub, &e), 0);
    test_write_in_dir(sub);
    test_stale_temps(dir);
    test_staged(dir);
    /* RNG: reproducible, streams differ, ranges hold, moments plausible. */
    cs_rng a, b;
    cs_rng_derive(&a, 42, CS_RNG_SHUFFLE, 7);
    cs_rng_derive(&b, 42, CS_RNG_SHUFFLE, 7);
    T_EQ(cs_rng_u64(&a) == cs_rng_u64(&b), 1);
    cs_rng_derive(&b, 42, CS_RNG_SHUFFLE, 8);
    T_TRUE(cs_rng_u64(&a) != cs_rng_u64(&b));
    /* xoshiro256** reference: state {1,2,3,4} gives 11520, 0, 1509978240, 1215971899390074240. */
    cs_rng ref = {{1, 2, 3, 4}};
    T_EQ(cs_rng_u64(&ref), 11520);
    T_EQ(cs_rng_u64(&ref), 0);
    T_EQ(cs_rng_u64(&ref), 1509978240);
    T_TRUE(cs_rng_u64(&ref) == 1215971899390074240ULL);
    double sum = 0, sum2 = 0, gsum = 0;
    int below_ok = 1;
    for (int i = 0; i < 100000; i++) {
        double u = cs_rng_uniform(&a);
        sum += u;
        double z = cs_rng_normal(&a);
        sum2 += z * z;
        gsum += cs_rng_gamma(&a, 0.3);
        if (cs_rng_below(&a, 7) >= 7)
            below_ok = 0;
    }
    T_NEAR(sum / 100000, 0.5, 0.01);
    T_NEAR(sum2 / 100000, 1.0, 0.02);
    T_NEAR(gsum / 100000, 0.3, 0.01);
    T_TRUE(below_ok);
    uint32_t v[10];
    for (uint32_t i = 0; i < 10; i++)
        v[i] = i;
    cs_rng_shuffle_u32(&a, v, 10);
    uint32_t seen = 0;
    for (int i = 0; i < 10; i++)
        seen |= 1u << v[i];
    T_EQ(seen, 0x3ff);
    return t_done();
}
