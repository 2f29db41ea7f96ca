#include "cs.h"
#include "t.h"

#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

int main(void)
{
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
    unsigned char *data = NULL;
    size_t len = 0;
    T_EQ(cs_read_file(path, &data, &len, &e), 0);
    T_EQ(len, 5);
    T_TRUE(data && memcmp(data, "hello", 5) == 0);
    free(data);
    snprintf(path, sizeof path, "%s/missing", dir);
    T_EQ(cs_read_file(path, &data, &len, &e), CS_EIO);
    T_CONTAINS(e.msg, "cannot open");
    return t_done();
}
