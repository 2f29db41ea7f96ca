/* scn_internal.h - internals of the scenario loader shared by sim/scn*.c (not a public API).
 *
 * Three layers, one direction:
 *   scn_tree.c   YAML text -> a small tree of scn__node, so that --set overrides can edit it
 *                (libyaml's document is append-only) and every node can carry its origin;
 *   scn_value.c  located values: typed conversions of nodes, sections and fields, and errors at
 *                a value's location (FILE:LINE:COL or the --set argument); no scenario keys;
 *   scn.c        the schema: which keys exist, their types, ranges, defaults and cross-checks;
 *   scn_cost.c   the contact plan the scenario asks for, against its limits (work, memory).
 */
#ifndef SCN_INTERNAL_H
#define SCN_INTERNAL_H

#include "scn.h"

#include <stdbool.h>
#include <stddef.h>

typedef enum scn__kind { SCN__NULL, SCN__SCALAR, SCN__SEQ, SCN__MAP } scn__kind;

typedef struct scn__node {
    scn__kind kind;
    bool quoted; /* scalar written quoted or as a block scalar: always a string */
    char *text;  /* owned, NUL-terminated: the scalar's text ("" for null) */
    long line;   /* 1-based, 0 for nodes made by --set */
    long col;
    int set;  /* -1: from the file; else the index of the --set argument that made it */
    size_t n; /* items (seq) or pairs (map) */
    size_t cap;
    struct scn__node **items; /* owned: seq items, or map values */
    struct scn__node **keys;  /* owned: map keys (scalar nodes), NULL for seq */
} scn__node;

/* Limits of a scenario (docs/scenario.md, "Limits"), against hostile or mistaken input:
 *  - the file's size and its nesting depth (the copy recurses);
 *  - YAML nodes (a key, a value or a list item), counted after aliases are expanded (alias
 *    bombs). 500,000 bound the loader's memory to about 140 MB (some 280 bytes a node while
 *    libyaml's document and this tree both exist, measured) and leave room for
 *    SCN__MAX_STATIONS stations with every key written (21 nodes each) and a select list naming
 *    every TLE set. */
#define SCN__MAX_DEPTH 32
#define SCN__MAX_NODES 500000
#define SCN__MAX_FILE_BYTES (4u << 20)
/* Constellation and ground segment: far beyond real ones (the largest shells have a few
 * thousand satellites, ground networks a few hundred antennas), and what the contact plan can
 * hold is bounded separately by its work and memory. */
#define SCN__MAX_SATELLITES 100000
#define SCN__MAX_STATIONS 10000
/* The contact plan (orbits' orb_contacts_cost, checked by scn__check_plan_cost):
 *  - work: 1e10 satellite-station steps, a propagation counting ORB_CONTACTS_PROP_WORK, about
 *    7 minutes of one core (6,000 satellites and 100 stations over a day are 5.2e8);
 *  - the windows while they are found: 2 GiB (about 1.5e7 windows: 6,000 satellites and 100
 *    stations for 6 days, walker-1584's 100 stations for 3 weeks);
 *  - one search thread's buffers, a satellite's track over the whole duration: 256 MiB (11
 *    years at 550 km; 1e9 s took 720 MB per thread). */
#define SCN__MAX_PLAN_WORK 1e10
#define SCN__MAX_PLAN_WINDOW_BYTES (2.0 * 1024 * 1024 * 1024)
#define SCN__MAX_PLAN_TRACK_BYTES (256.0 * 1024 * 1024)
/* Keys of one mapping: the duplicate check compares each key with those before it, and no
 * scenario section has more than a few dozen. */
#define SCN__MAX_MAP_KEYS 1000

void scn__node_free(scn__node *n);

/* Parses text (len bytes) as one YAML document into *root (NULL for an empty document).
 * Syntax errors, duplicate keys, non-scalar keys, a document of more than SCN__MAX_NODES nodes
 * or aliases that expand it beyond that: CS_EINVAL with err set at label:line:col. */
int scn__parse(const char *label, const char *text, size_t len, scn__node **root, cs_err *err);

/* Applies one "KEY=VALUE" to the tree (root must be a mapping). The node it writes is marked
 * with set index idx. Errors use path "--set". */
int scn__apply_set(scn__node *root, const char *set, int idx, cs_err *err);

/* The mapping value for key, or NULL (m may be NULL or not a mapping). *key_out (may be NULL)
 * receives the key node. */
const scn__node *scn__map_get(const scn__node *m, const char *key, const scn__node **key_out);

scn_loc scn__loc_of(const scn__node *n);

/* ---- located values and errors (scn_value.c) ---------------------------------------------- */

/* The conversion context: the config being filled (its file and --set arguments label every
 * error) and the caller's error record. */
typedef struct scn__cv {
    scn_config *c;
    cs_err *err;
} scn__cv;

/* A mapping being converted: m is NULL when the section is absent or null. */
typedef struct scn__sec {
    const scn__node *m;
    char path[192]; /* dotted key path, labels messages ("" at the top) */
    scn_loc loc;    /* the mapping's location, or where defaults for it point */
} scn__sec;

/* An error at loc with the key path before the message (see scn_error). Returns CS_EINVAL. */
int scn__fail(const scn__cv *v, scn_loc loc, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* CS_ENOMEM, "out of memory" at the scenario file. */
int scn__oom(const scn__cv *v);

/* dst = parent.child (or child at the top); long paths are cut, they only label messages. */
void scn__join(char *dst, size_t cap, const char *parent, const char *child);

/* Scalar text as YAML 1.2's core schema reads it (decimal only): an integer, a number. */
bool scn__is_int_text(const char *s);
bool scn__is_float_text(const char *s);

/* How a value is shown after "got": numbers and booleans as written, text quoted and cut to
 * about 60 characters, other nodes by kind ("a list", "nothing (null)"). Returns buf or a
 * constant. */
const char *scn__describe(const scn__node *n, char *buf, size_t cap);
/* names[0..n) as "a, b, c" (cut to cap). */
void scn__list_names(char *buf, size_t cap, const char *const *names, size_t n);

/* Checks that every key of mapping m is in allowed[]; an unknown one is an error at the key,
 * listing the allowed keys and suggesting one within edit distance 2. */
int scn__check_keys(const scn__cv *v, const scn__node *m, const char *path,
                    const char *const *allowed, size_t n_allowed);
/* Opens parent.key as a section (*at receives its location). Absent or null: out->m = NULL,
 * an error if required; not a mapping, or a key not in allowed[]: an error. */
int scn__open_section(const scn__cv *v, const scn__sec *parent, const char *key, bool required,
                      const char *const *allowed, size_t n_allowed, scn__sec *out, scn_loc *at);
/* The node for s.key. NULL when absent or null (then *at is the default location); an error
 * (*rc) when required and absent/null. path receives "s.path.key". */
const scn__node *scn__field(const scn__cv *v, const scn__sec *s, const char *key, bool required,
                            char *path, size_t cap, scn_loc *at, int *rc);

/* A range of numbers: lo and/or hi apply when their flag is set, open when _OPEN is too. */
enum { SCN__LO = 1, SCN__LO_OPEN = 2, SCN__HI = 4, SCN__HI_OPEN = 8 };
typedef struct scn__range {
    double lo, hi;
    unsigned flags;
} scn__range;

/* Typed conversions of one node; a wrong value is an error at the node naming the type, the
 * range, what was written and, for a quoted number or boolean, why it was text. hint: NULL or
 * text shown in parentheses after the range. */
int scn__to_int(const scn__cv *v, const scn__node *n, const char *path, long long lo, long long hi,
                const char *hint, long long *out);
int scn__to_num(const scn__cv *v, const scn__node *n, const char *path, const scn__range *r,
                const char *hint, double *out);
int scn__to_bool(const scn__cv *v, const scn__node *n, const char *path, bool *out);
/* *out = the index of the scalar's text in names[]. */
int scn__to_enum(const scn__cv *v, const scn__node *n, const char *path, const char *const *names,
                 size_t n_names, int *out);
/* Any scalar (quoted or not) with 1..max_len bytes; *out points into the node. */
int scn__to_str(const scn__cv *v, const scn__node *n, const char *path, size_t max_len,
                const char **out);
/* A duration in seconds (scn_duration_parse's forms): > 0, or >= 0 with allow_zero. */
int scn__to_duration(const scn__cv *v, const scn__node *n, const char *path, bool allow_zero,
                     double *out);

/* s.key converted, or def when absent or null (an error when required); *at receives the
 * value's location (the default location when absent). */
int scn__get_int(const scn__cv *v, const scn__sec *s, const char *key, bool required, long long def,
                 long long lo, long long hi, const char *hint, long long *out, scn_loc *at);
int scn__get_int32(const scn__cv *v, const scn__sec *s, const char *key, bool required, int def,
                   int lo, int hi, const char *hint, int *out, scn_loc *at);
int scn__get_num(const scn__cv *v, const scn__sec *s, const char *key, bool required, double def,
                 scn__range r, const char *hint, double *out, scn_loc *at);
int scn__get_bool(const scn__cv *v, const scn__sec *s, const char *key, bool def, bool *out,
                  scn_loc *at);
int scn__get_enum(const scn__cv *v, const scn__sec *s, const char *key, int def,
                  const char *const *names, size_t n_names, int *out, scn_loc *at);
/* An optional or required string; *out NULL when absent (optional), else points into the tree. */
int scn__get_str(const scn__cv *v, const scn__sec *s, const char *key, bool required,
                 size_t max_len, const char **out, scn_loc *at);
/* *out = a malloc'd copy of s, or NULL when s is NULL. */
int scn__dup_str(const scn__cv *v, const char *s, char **out);

/* List values: a YAML list of scalars, or one scalar holding a comma list (items trimmed). */
typedef struct scn__item {
    char text[128];
    scn_loc at; /* the item's node; for a comma list, the scalar's */
    bool quoted;
} scn__item;

typedef struct scn__itemlist {
    scn__item *v; /* owned by the caller (free(v)); NULL when n is 0 */
    size_t n;
} scn__itemlist;

/* Splits n into items. A mapping, a non-scalar item or an item of 128 bytes or more is an error
 * (then out->v is NULL). A null node is an empty list. */
int scn__split_list(const scn__cv *v, const scn__node *n, const char *path, scn__itemlist *out);

/* ---- the contact plan's cost (scn_cost.c) -------------------------------------------------- */

/* The cost of the contact plan of v's config (constellation, stations and duration converted)
 * against the SCN__MAX_PLAN_* limits: an error at the value that made it too large (the later
 * of satellites, stations and duration; the duration for a track too long). */
int scn__check_plan_cost(const scn__cv *v);

#endif
