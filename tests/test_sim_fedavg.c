/* test_sim_fedavg.c - FedAvg weighting (hand-computed values), BN counters, the cost formula,
 * and the client partitions (IID sizes, caps, Dirichlet skew, disjointness, determinism). */
#include "fl.h"
#include "fl_avg.h"
#include "nn_train.h"
#include "t.h"

#include <stdlib.h>
#include <string.h>

static void test_avg(void)
{
    cs_err err;
    fl_avg a;
    T_EQ(fl_avg_init(&a, 4, &err), 0);
    float out[4] = {-1, -1, -1, -1};
    int64_t tr[NN_TRACKED] = {0};
    T_TRUE(!fl_avg_finish(&a, out, tr)); /* nothing added */
    T_NEAR(out[0], -1, 0);
    /* Weights 50 and 150: (50*x + 150*y) / 200 = x/4 + 3y/4. */
    float x[4] = {1, 2, 3, -4};
    float y[4] = {3, 6, 9, 4};
    int64_t tx[NN_TRACKED] = {7, 100, 3};
    int64_t ty[NN_TRACKED] = {9, 50, 3};
    fl_avg_add(&a, x, tx, 50);
    fl_avg_add(&a, y, ty, 150);
    T_TRUE(fl_avg_finish(&a, out, tr));
    T_NEAR(out[0], 2.5, 0);
    T_NEAR(out[1], 5.0, 0);
    T_NEAR(out[2], 7.5, 0);
    T_NEAR(out[3], 2.0, 0);
    T_EQ(tr[0], 9); /* max per counter */
    T_EQ(tr[1], 100);
    T_EQ(tr[2], 3);
    T_NEAR(a.weight, 200, 0);
    T_EQ(a.count, 2);
    /* Not the unweighted mean (2, 4, 6, 0). */
    T_TRUE(out[0] != 2.0f);
    /* A third, zero-weight update changes nothing. */
    float z[4] = {1000, 1000, 1000, 1000};
    fl_avg_add(&a, z, NULL, 0);
    T_TRUE(fl_avg_finish(&a, out, NULL));
    T_NEAR(out[0], 2.5, 0);
    /* Reset. Three equal weights: 1/3 each, rounded once from double. */
    fl_avg_reset(&a);
    T_EQ(a.count, 0);
    float p[4] = {0.1f, 1, 1, 1}, q[4] = {0.2f, 1, 1, 1}, r[4] = {0.4f, 1, 1, 1};
    fl_avg_add(&a, p, NULL, 1);
    fl_avg_add(&a, q, NULL, 1);
    fl_avg_add(&a, r, NULL, 1);
    T_TRUE(fl_avg_finish(&a, out, NULL));
    double want = ((double)0.1f + (double)0.2f + (double)0.4f) / 3.0;
    T_TRUE(out[0] == (float)want);
    T_NEAR(out[1], 1, 0);
    fl_avg_deinit(&a);
    fl_avg_deinit(NULL);
}

/* The server step (FedAvgM): d = mean - base, vel = m * vel + d, global += lr * vel, running
 * BN running statistics the plain mean, worked by hand on a few elements of a full-size state. */
static void test_avg_step(void)
{
    cs_err err;
    fl_avg a;
    T_EQ(fl_avg_init(&a, NN_STATE_FLOATS, &err), 0);
    float *base = calloc(NN_STATE_FLOATS, sizeof(float));
    float *x = calloc(NN_STATE_FLOATS, sizeof(float));
    float *y = calloc(NN_STATE_FLOATS, sizeof(float));
    float *g = calloc(NN_STATE_FLOATS, sizeof(float));
    float *vel = calloc(NN_STATE_FLOATS, sizeof(float));
    const nn_view *rv = nn_view_find("bn2.running_var");
    T_TRUE(rv != NULL);
    size_t iv = rv->offset;
    /* base 1, global 1.25 (the server's copy differs from what the clients decoded), clients
     * x = 2 (weight 1) and y = 4 (weight 3): mean 3.5, d = 2.5. */
    base[0] = 1;
    g[0] = 1.25f;
    x[0] = 2;
    y[0] = 4;
    /* a running variance: mean (1 * 0.5 + 3 * 0.7) / 4 = 0.65, whatever base, lr and momentum */
    base[iv] = 1;
    g[iv] = 0.25f;
    x[iv] = 0.5f;
    y[iv] = 0.7f;
    int64_t tx[NN_TRACKED] = {5, 5, 5}, ty[NN_TRACKED] = {7, 2, 5}, tr[NN_TRACKED];
    T_TRUE(!fl_avg_finish_step(&a, base, 2.0, 0.5, vel, g, tr)); /* nothing added */
    T_NEAR(g[0], 1.25, 0);
    fl_avg_add(&a, x, tx, 1);
    fl_avg_add(&a, y, ty, 3);
    T_TRUE(fl_avg_finish_step(&a, base, 2.0, 0.5, vel, g, tr));
    T_NEAR(vel[0], 2.5, 0);
    T_NEAR(g[0], 1.25 + 2 * 2.5, 0);
    T_NEAR(g[1], 0, 0); /* unchanged elements stay */
    T_NEAR(vel[iv], 0, 0);
    T_TRUE(g[iv] == (float)((0.5 + 3 * (double)0.7f) / 4));
    T_EQ(tr[0], 7);
    T_EQ(tr[1], 5);
    /* Second step, same updates: vel = 0.5 * 2.5 + 2.5 = 3.75; global += 2 * 3.75. */
    T_TRUE(fl_avg_finish_step(&a, base, 2.0, 0.5, vel, g, NULL));
    T_NEAR(vel[0], 3.75, 0);
    T_NEAR(g[0], 6.25 + 7.5, 0);
    /* lr 1, no momentum, global == base: the plain weighted mean. */
    memcpy(g, base, NN_STATE_FLOATS * sizeof(float));
    T_TRUE(fl_avg_finish_step(&a, base, 1.0, 0.0, NULL, g, NULL));
    T_NEAR(g[0], 3.5, 0);
    free(base);
    free(x);
    free(y);
    free(g);
    free(vel);
    fl_avg_deinit(&a);
}

static void test_cost(void)
{
    scn_station st[2];
    memset(st, 0, sizeof st);
    st[0].cost_per_mb = 5.0;
    st[0].cost_per_minute = 0.5;
    st[1].cost_per_mb = 2.0;
    scn_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.stations = st;
    cfg.n_stations = 2;
    fl_station_use u[2];
    memset(u, 0, sizeof u);
    u[0].bytes_to_sat = 1000000;   /* 1 MB */
    u[0].bytes_to_ground = 500000; /* 0.5 MB */
    u[0].contact_minutes = 3;
    u[1].bytes_to_ground = 250000;
    u[1].contact_minutes = 10; /* free minutes at station 1 */
    /* 1.5 * 5 + 3 * 0.5 + 0.25 * 2 = 7.5 + 1.5 + 0.5 */
    T_NEAR(fl_cost_usd(&cfg, u), 9.5, 1e-12);
}

static void fake_dataset(nn_dataset *ds, size_t n)
{
    memset(ds, 0, sizeof *ds);
    ds->labels = malloc(n);
    ds->n = n;
    for (size_t i = 0; i < n; i++)
        ds->labels[i] = (uint8_t)(i * NN_DATA_CLASSES / n); /* class-ordered, equal classes */
}

static int check_disjoint(const fl_partitions *p, size_t n_images)
{
    char *seen = calloc(n_images, 1);
    int bad = 0;
    for (size_t c = 0; c < p->n_clients; c++)
        for (size_t i = p->off[c]; i < p->off[c + 1]; i++) {
            if (p->idx[i] >= n_images || seen[p->idx[i]])
                bad++;
            else
                seen[p->idx[i]] = 1;
            if (i > p->off[c] && p->idx[i] <= p->idx[i - 1])
                bad++; /* ascending */
        }
    free(seen);
    return bad;
}

static void test_partitions(void)
{
    cs_err err;
    nn_dataset ds;
    fake_dataset(&ds, 1000);
    /* The train split: every image except multiples of 10 (900 images). */
    uint32_t train[900];
    size_t n = 0;
    for (uint32_t i = 0; i < 1000; i++)
        if (i % 10)
            train[n++] = i;
    T_EQ(n, 900);

    /* IID over 7 clients: 900 = 7 * 128 + 4 -> 4 clients of 129, 3 of 128. */
    fl_partitions p;
    T_EQ(fl_partition(&ds, train, n, 7, SCN_PART_IID, 0.5, 0, 42, &p, &err), 0);
    T_EQ(p.off[7], 900);
    int n129 = 0, n128 = 0;
    for (size_t c = 0; c < 7; c++) {
        size_t k = p.off[c + 1] - p.off[c];
        n129 += k == 129;
        n128 += k == 128;
    }
    T_EQ(n129, 4);
    T_EQ(n128, 3);
    T_EQ(check_disjoint(&p, 1000), 0);
    for (size_t i = 0; i < p.off[7]; i++)
        T_TRUE(p.idx[i] % 10 != 0); /* only train images */
    /* Same seed, same partition; another seed, another. */
    fl_partitions q;
    T_EQ(fl_partition(&ds, train, n, 7, SCN_PART_IID, 0.5, 0, 42, &q, &err), 0);
    T_TRUE(memcmp(p.idx, q.idx, 900 * sizeof *p.idx) == 0);
    fl_partitions_free(&q);
    T_EQ(fl_partition(&ds, train, n, 7, SCN_PART_IID, 0.5, 0, 43, &q, &err), 0);
    T_TRUE(memcmp(p.idx, q.idx, 900 * sizeof *p.idx) != 0);
    fl_partitions_free(&q);
    /* Cap at 50: every client 50, subsets of the uncapped parts. */
    T_EQ(fl_partition(&ds, train, n, 7, SCN_PART_IID, 0.5, 50, 42, &q, &err), 0);
    T_EQ(q.off[7], 350);
    for (size_t c = 0; c < 7; c++) {
        T_EQ(q.off[c + 1] - q.off[c], 50);
        for (size_t i = q.off[c]; i < q.off[c + 1]; i++) {
            bool found = false;
            for (size_t j = p.off[c]; j < p.off[c + 1]; j++)
                found = found || p.idx[j] == q.idx[i];
            T_TRUE(found);
        }
    }
    T_EQ(check_disjoint(&q, 1000), 0);
    fl_partitions_free(&q);
    fl_partitions_free(&p);

    /* Dirichlet alpha 0.1 over 5 clients: disjoint, complete, every client >= 10 images, and
     * strongly skewed: some client holds >= 60% of its images from one class. With alpha 100
     * the classes are nearly balanced in every client (no class above 20%). */
    T_EQ(fl_partition(&ds, train, n, 5, SCN_PART_DIRICHLET, 0.1, 0, 9, &p, &err), 0);
    T_EQ(p.off[5], 900);
    T_EQ(check_disjoint(&p, 1000), 0);
    T_TRUE(p.draws >= 1);
    double max_share = 0;
    for (size_t c = 0; c < 5; c++) {
        size_t k = p.off[c + 1] - p.off[c];
        T_TRUE(k >= 10);
        size_t cnt[NN_DATA_CLASSES] = {0};
        for (size_t i = p.off[c]; i < p.off[c + 1]; i++)
            cnt[ds.labels[p.idx[i]]]++;
        for (int y = 0; y < NN_DATA_CLASSES; y++)
            if ((double)cnt[y] / (double)k > max_share)
                max_share = (double)cnt[y] / (double)k;
    }
    T_TRUE(max_share >= 0.6);
    T_EQ(fl_partition(&ds, train, n, 5, SCN_PART_DIRICHLET, 0.1, 0, 9, &q, &err), 0);
    T_TRUE(memcmp(p.idx, q.idx, 900 * sizeof *p.idx) == 0 &&
           memcmp(p.off, q.off, 6 * sizeof *p.off) == 0);
    fl_partitions_free(&q);
    fl_partitions_free(&p);
    T_EQ(fl_partition(&ds, train, n, 5, SCN_PART_DIRICHLET, 100, 0, 9, &p, &err), 0);
    max_share = 0;
    for (size_t c = 0; c < 5; c++) {
        size_t k = p.off[c + 1] - p.off[c];
        size_t cnt[NN_DATA_CLASSES] = {0};
        for (size_t i = p.off[c]; i < p.off[c + 1]; i++)
            cnt[ds.labels[p.idx[i]]]++;
        for (int y = 0; y < NN_DATA_CLASSES; y++)
            if ((double)cnt[y] / (double)k > max_share)
                max_share = (double)cnt[y] / (double)k;
    }
    T_TRUE(max_share < 0.2);
    fl_partitions_free(&p);

    /* Too few images for the clients. */
    T_EQ(fl_partition(&ds, train, 3, 5, SCN_PART_IID, 0.5, 0, 1, &p, &err), CS_EINVAL);
    T_CONTAINS(err.msg, "fewer than the 5 clients");
    free(ds.labels);
}

/* Learning rate per round: constant, or cosine from lr (round 0) towards 0. */
static void test_round_lr(void)
{
    struct {
        nn_schedule schedule;
        double lr, decay_fraction;
    } o = {NN_SCHED_CONSTANT, 0.001, 0.3};
    T_NEAR(nn_schedule_lr(o.schedule, o.lr, o.decay_fraction, 7, 10), 0.001, 0);
    o.schedule = NN_SCHED_COSINE;
    T_NEAR(nn_schedule_lr(o.schedule, o.lr, o.decay_fraction, 0, 10), 0.001, 1e-18);
    T_NEAR(nn_schedule_lr(o.schedule, o.lr, o.decay_fraction, 5, 10), 0.0005,
           1e-15); /* (1 + cos(pi/2)) / 2 */
    T_NEAR(nn_schedule_lr(o.schedule, o.lr, o.decay_fraction, 9, 10), 2.4471741852423e-05,
           1e-16); /* (1 + cos(0.9 pi)) / 2 */
    T_NEAR(nn_schedule_lr(o.schedule, o.lr, o.decay_fraction, 0, 1), 0.001, 0);
    /* wsd, 10 rounds, decay_fraction 0.3: 7 rounds at lr, then 3/4, 2/4, 1/4 of it */
    o.schedule = NN_SCHED_WSD;
    o.decay_fraction = 0.3;
    T_NEAR(nn_schedule_lr(o.schedule, o.lr, o.decay_fraction, 0, 10), 0.001, 0);
    T_NEAR(nn_schedule_lr(o.schedule, o.lr, o.decay_fraction, 6, 10), 0.001, 0);
    T_NEAR(nn_schedule_lr(o.schedule, o.lr, o.decay_fraction, 7, 10), 0.00075, 1e-18);
    T_NEAR(nn_schedule_lr(o.schedule, o.lr, o.decay_fraction, 8, 10), 0.0005, 1e-18);
    T_NEAR(nn_schedule_lr(o.schedule, o.lr, o.decay_fraction, 9, 10), 0.00025, 1e-18);
    /* 0.25 of 10 rounds is 3 decay rounds (ceil); any fraction keeps at least one */
    o.decay_fraction = 0.25;
    T_NEAR(nn_schedule_lr(o.schedule, o.lr, o.decay_fraction, 6, 10), 0.001, 0);
    T_NEAR(nn_schedule_lr(o.schedule, o.lr, o.decay_fraction, 7, 10), 0.00075, 1e-18);
    o.decay_fraction = 0.01;
    T_NEAR(nn_schedule_lr(o.schedule, o.lr, o.decay_fraction, 8, 10), 0.001, 0);
    T_NEAR(nn_schedule_lr(o.schedule, o.lr, o.decay_fraction, 9, 10), 0.0005, 1e-18);
    o.decay_fraction = 1; /* all rounds decay: 10/11 .. 1/11 */
    T_NEAR(nn_schedule_lr(o.schedule, o.lr, o.decay_fraction, 0, 10), 0.001 * 10 / 11, 1e-18);
    T_NEAR(nn_schedule_lr(o.schedule, o.lr, o.decay_fraction, 9, 10), 0.001 / 11, 1e-18);
}

int main(void)
{
    test_round_lr();
    test_avg();
    test_avg_step();
    test_cost();
    test_partitions();
    return t_done();
}
