/* scn_internal.h - internals of the scenario loader shared by sim/scn*.c (not a public API).
 *
 * The YAML document is copied into a small tree of scn__node so that --set overrides can edit
 * it (libyaml's document is append-only) and every node can carry its origin.
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

/* Limits against hostile input (alias bombs, deep nesting). */
#define SCN__MAX_DEPTH 32
#define SCN__MAX_NODES 100000
#define SCN__MAX_FILE_BYTES (4u << 20)

void scn__node_free(scn__node *n);

/* Parses text (len bytes) as one YAML document into *root (NULL for an empty document).
 * Syntax errors, duplicate keys, non-scalar keys, aliases expanding too far: CS_EINVAL with err
 * set at label:line:col. */
int scn__parse(const char *label, const char *text, size_t len, scn__node **root, cs_err *err);

/* Applies one "KEY=VALUE" to the tree (root must be a mapping). The node it writes is marked
 * with set index idx. Errors use path "--set". */
int scn__apply_set(scn__node *root, const char *set, int idx, cs_err *err);

/* The mapping value for key, or NULL (m may be NULL or not a mapping). *key_out (may be NULL)
 * receives the key node. */
const scn__node *scn__map_get(const scn__node *m, const char *key, const scn__node **key_out);

scn_loc scn__loc_of(const scn__node *n);

#endif
