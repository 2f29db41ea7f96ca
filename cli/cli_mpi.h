/* cli_mpi.h - the few MPI operations `constsim sweep` needs, behind one interface that also
 * builds without MPI (then a process is always rank 0 of 1). Built with MPI when CMake's FindMPI
 * found it (CONSTSIM_HAVE_MPI). MPI is started only by `constsim sweep`, and only when the
 * process was launched by an MPI starter (mpirun, srun), so every other command and a plain
 * `constsim sweep` never touch it.
 *
 * Calls are not thread-safe: a program with several threads serialises them itself.
 */
#ifndef CLI_MPI_H
#define CLI_MPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True when the environment says an MPI starter launched this process. */
bool cli_mpi_launched(void);
/* True when this build has MPI. */
bool cli_mpi_available(void);

/* Starts MPI (when launched and available; else a world of one). 0 on success. */
int cli_mpi_init(int *argc, char ***argv);
/* True when threads other than the main one may call MPI (one at a time): MPI gave
 * MPI_THREAD_SERIALIZED, or there is no MPI. */
bool cli_mpi_threads_ok(void);
int cli_mpi_rank(void);
int cli_mpi_size(void);
/* Ranks of the world on this node (1 without MPI). */
int cli_mpi_local_size(void);

/* Counters held by rank 0 (CLI_MPI_COUNTERS of them, all 0 at the start): atomically adds v to
 * counter k and returns its value before. Works without rank 0 taking part (passive target),
 * so rank 0 can be busy training while other ranks take points. */
#define CLI_MPI_COUNTERS 4
long cli_mpi_fetch_add(int k, long v);

/* Bitwise OR of bits[0..len) over the ranks on this node, in place (collective on the node). */
void cli_mpi_node_or(uint8_t *bits, size_t len);
/* Broadcasts len bytes from rank 0. */
void cli_mpi_bcast(void *buf, size_t len);
/* Sum of v over all ranks, on every rank. */
long cli_mpi_sum(long v);
/* Largest v over all ranks, on every rank. */
long cli_mpi_max(long v);
/* The world size the environment announces (Open MPI, PMI, PMIx under Slurm), 1 when none. */
long cli_mpi_announced_size(void);
/* Waits until every rank arrives here, sleeping between polls so that a finished rank does not
 * spin on a core another rank is training on. */
void cli_mpi_wait_all(void);
/* Lets MPI make progress on pending requests (cheap; call it now and then). */
void cli_mpi_poke(void);
void cli_mpi_finalize(void);

#endif
