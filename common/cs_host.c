/* cs_host.c - the machine's CPU model and processor count (cs_build_version is generated). */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "cs_host.h"

#include <ctype.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The value of "key<spaces>: value" when line holds that key, else NULL. */
static char *cpuinfo_value(char *line, const char *key)
{
    size_t n = strlen(key);
    if (strncmp(line, key, n) != 0)
        return NULL;
    char *p = line + n;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p != ':')
        return NULL;
    return p + 1;
}

char *cs_host_cpu_model(char *out, size_t cap)
{
    static const char *const keys[] = {"model name", "Processor"};
    char found[2][256] = {"", ""};
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[512];
        while (fgets(line, sizeof line, f) && !found[0][0])
            for (size_t k = 0; k < 2; k++) {
                char *v = cpuinfo_value(line, keys[k]);
                if (!v || found[k][0])
                    continue;
                while (isspace((unsigned char)*v))
                    v++;
                size_t len = strlen(v);
                while (len > 0 && isspace((unsigned char)v[len - 1]))
                    len--;
                snprintf(found[k], sizeof found[k], "%.*s", (int)len, v);
            }
        fclose(f);
    }
    const char *model = found[0][0] ? found[0] : found[1][0] ? found[1] : "unknown";
    snprintf(out, cap, "%s", model);
    return out;
}

int cs_host_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

size_t cs_host_cpu_mask(uint8_t *bits, size_t cap)
{
    cpu_set_t set;
    memset(bits, 0, cap);
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return 0;
    size_t n = cap * 8 < CPU_SETSIZE ? cap * 8 : CPU_SETSIZE;
    for (size_t c = 0; c < n; c++)
        if (CPU_ISSET(c, &set))
            bits[c / 8] |= (uint8_t)(1u << (c % 8));
    return n;
}

int cs_host_cpus_allowed(void)
{
    cpu_set_t set;
    int online = cs_host_cpus();
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0 &&
        CPU_COUNT(&set) < online)
        return CPU_COUNT(&set);
    return online;
}
