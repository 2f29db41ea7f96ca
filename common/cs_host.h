/* cs_host.h - what a report needs to say where it came from: the build and the machine.
 * Nothing here changes results; the values only describe the process. */
#ifndef CS_HOST_H
#define CS_HOST_H

#include <stddef.h>
#include <stdint.h>

/* The build: `git describe --always --dirty --tags` of the source tree when it was built (e.g.
 * "v0.1.0-3-g1a2b3c4" or "1a2b3c4-dirty" without tags), else the project version
 * (CONSTSIM_VERSION). Static storage. Defined in a file the build generates. */
const char *cs_build_version(void);

/* The CPU model: the first "model name" (else "Processor") of /proc/cpuinfo, spaces trimmed,
 * into out (cap >= 1, truncated to fit); "unknown" when it cannot be read. Returns out. */
char *cs_host_cpu_model(char *out, size_t cap);

/* Online processors (sysconf), >= 1. */
int cs_host_cpus(void);
/* The processors this process may run on (its affinity mask, e.g. as bound by mpirun), at most
 * cs_host_cpus(). */
int cs_host_cpus_allowed(void);
/* The affinity mask as bits (processor c is bit c % 8 of bits[c / 8]) in cap bytes, zeroed
 * first; returns the number of processors covered, 0 when the mask cannot be read. */
size_t cs_host_cpu_mask(uint8_t *bits, size_t cap);

#endif
