/* rep_internal.h - internals of the report module shared by sim/rep*.c (not a public API):
 * reading members of a report, the drop in points (numbers print with cs_fmt_double, durations with
 * cs_fmt_duration). */
#ifndef REP_INTERNAL_H
#define REP_INTERNAL_H

#include "cs.h"

#include <stddef.h>

struct cJSON;

/* A number member of o: parsed (cJSON number) or built by rep_build (raw text). NaN when
 * absent or not a number. */
double rep__num(const struct cJSON *o, const char *k);
/* A string member of o (borrowed); "?" when absent or not a string. */
const char *rep__str(const struct cJSON *o, const char *k);
/* accuracy_drop_pct of a run: (fp32 accuracy - accuracy) * 100, in points. */
double rep__drop_pct(double fp32_accuracy, double accuracy);


#endif
