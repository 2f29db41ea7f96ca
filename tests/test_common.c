#include "cs.h"
#include "cs_rng.h"
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
    T_EQ_U64(len, 5);
    T_MEMEQ(data, "hello", 5);
    free(data);
    snprintf(path, sizeof path, "%s/missing", dir);
    T_EQ(cs_read_file(path, &data, &len, &e), CS_EIO);
    T_CONTAINS(e.msg, "cannot open");
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
