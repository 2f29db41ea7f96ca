/* cli_mpi.c - see cli_mpi.h. */
#include "cli_mpi.h"

#include <stdlib.h>
#include <time.h>

bool cli_mpi_launched(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "PMI_RANK"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (getenv(vars[i]))
            return true;
    return false;
}

long cli_mpi_announced_size(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE",
                                       "SLURM_STEP_NUM_TASKS", "SLURM_NTASKS"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (v && atol(v) > 0)
            return atol(v);
    }
    return 1;
}

#ifdef CONSTSIM_HAVE_MPI
#include <mpi.h>

static bool g_on, g_threads_ok = true;
static int g_rank, g_size = 1, g_local = 1;
static MPI_Win g_win;
static MPI_Comm g_node = MPI_COMM_NULL;
static long *g_counters;

bool cli_mpi_available(void)
{
    return true;
}

int cli_mpi_init(int *argc, char ***argv)
{
    if (!cli_mpi_launched())
        return 0;
    int provided;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS)
        return -1;
    g_on = true;
    g_threads_ok = provided >= MPI_THREAD_SERIALIZED;
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, g_rank, MPI_INFO_NULL, &g_node);
    MPI_Comm_size(g_node, &g_local);
    MPI_Aint bytes = g_rank == 0 ? (MPI_Aint)(CLI_MPI_COUNTERS * sizeof(long)) : 0;
    MPI_Win_allocate(bytes, sizeof(long), MPI_INFO_NULL, MPI_COMM_WORLD, &g_counters, &g_win);
    if (g_rank == 0) {
        MPI_Win_lock(MPI_LOCK_EXCLUSIVE, 0, 0, g_win);
        for (int k = 0; k < CLI_MPI_COUNTERS; k++)
            g_counters[k] = 0;
        MPI_Win_unlock(0, g_win);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    return 0;
}

bool cli_mpi_threads_ok(void)
{
    return g_threads_ok;
}

int cli_mpi_rank(void)
{
    return g_rank;
}

int cli_mpi_size(void)
{
    return g_size;
}

int cli_mpi_local_size(void)
{
    return g_local;
}

long cli_mpi_fetch_add(int k, long v)
{
    if (!g_on) {
        static long local[CLI_MPI_COUNTERS];
        long old = local[k];
        local[k] += v;
        return old;
    }
    long old = 0;
    MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, g_win);
    MPI_Fetch_and_op(&v, &old, MPI_LONG, 0, (MPI_Aint)k, MPI_SUM, g_win);
    MPI_Win_unlock(0, g_win);
    return old;
}

void cli_mpi_node_or(uint8_t *bits, size_t len)
{
    if (g_on && g_local > 1)
        MPI_Allreduce(MPI_IN_PLACE, bits, (int)len, MPI_BYTE, MPI_BOR, g_node);
}

void cli_mpi_bcast(void *buf, size_t len)
{
    if (g_on && g_size > 1)
        MPI_Bcast(buf, (int)len, MPI_BYTE, 0, MPI_COMM_WORLD);
}

long cli_mpi_sum(long v)
{
    long s = v;
    if (g_on && g_size > 1)
        MPI_Allreduce(&v, &s, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
    return s;
}

long cli_mpi_max(long v)
{
    long m = v;
    if (g_on && g_size > 1)
        MPI_Allreduce(&v, &m, 1, MPI_LONG, MPI_MAX, MPI_COMM_WORLD);
    return m;
}

void cli_mpi_wait_all(void)
{
    if (!g_on || g_size == 1)
        return;
    MPI_Request req;
    MPI_Ibarrier(MPI_COMM_WORLD, &req);
    for (;;) {
        int done = 0;
        MPI_Test(&req, &done, MPI_STATUS_IGNORE);
        if (done)
            return;
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

void cli_mpi_poke(void)
{
    if (g_on && g_size > 1) {
        int flag;
        MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, MPI_STATUS_IGNORE);
    }
}

void cli_mpi_finalize(void)
{
    if (!g_on)
        return;
    MPI_Win_free(&g_win);
    MPI_Comm_free(&g_node);
    MPI_Finalize();
    g_on = false;
}

#else /* no MPI in this build: one process */

static long g_local_counters[CLI_MPI_COUNTERS];

bool cli_mpi_available(void)
{
    return false;
}

int cli_mpi_init(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

bool cli_mpi_threads_ok(void)
{
    return true;
}

int cli_mpi_rank(void)
{
    return 0;
}

int cli_mpi_size(void)
{
    return 1;
}

int cli_mpi_local_size(void)
{
    return 1;
}

long cli_mpi_fetch_add(int k, long v)
{
    long old = g_local_counters[k];
    g_local_counters[k] += v;
    return old;
}

void cli_mpi_node_or(uint8_t *bits, size_t len)
{
    (void)bits;
    (void)len;
}

void cli_mpi_bcast(void *buf, size_t len)
{
    (void)buf;
    (void)len;
}

long cli_mpi_sum(long v)
{
    return v;
}

long cli_mpi_max(long v)
{
    return v;
}

void cli_mpi_wait_all(void)
{
}

void cli_mpi_poke(void)
{
}

void cli_mpi_finalize(void)
{
}

#endif
