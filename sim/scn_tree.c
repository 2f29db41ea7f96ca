/* scn_tree.c - YAML text -> scn__node tree (libyaml document API), and --set overrides on it. */
#include "scn_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* Frees n's keys and items (not n itself). */
static void free_children(scn__node *n)
{
    for (size_t i = 0; i < n->n; i++) {
        if (n->keys)
            scn__node_free(n->keys[i]);
        scn__node_free(n->items[i]);
    }
    free(n->keys);
    free(n->items);
}

void scn__node_free(scn__node *n)
{
    if (!n)
        return;
    free_children(n);
    free(n->text);
    free(n);
}

scn_loc scn__loc_of(const scn__node *n)
{
    scn_loc l = {n->line, n->col, n->set, false};
    return l;
}

static scn__node *node_new(scn__kind kind, long line, long col, int set)
{
    scn__node *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->kind = kind;
    n->line = line;
    n->col = col;
    n->set = set;
    return n;
}

/* Appends (key, value) to a mapping or value to a sequence (key NULL). Takes ownership of
 * both, also on failure. */
static int node_append(scn__node *parent, scn__node *key, scn__node *value)
{
    if (parent->n == parent->cap) {
        size_t cap = parent->cap ? parent->cap * 2 : 4, bytes;
        if (cs_size_mul(cap, sizeof(scn__node *), &bytes) != 0)
            goto fail;
        scn__node **items = realloc(parent->items, bytes);
        if (!items)
            goto fail;
        parent->items = items;
        if (parent->kind == SCN__MAP) {
            scn__node **keys = realloc(parent->keys, bytes);
            if (!keys)
                goto fail;
            parent->keys = keys;
        }
        parent->cap = cap;
    }
    if (parent->kind == SCN__MAP)
        parent->keys[parent->n] = key;
    parent->items[parent->n] = value;
    parent->n++;
    return 0;
fail:
    scn__node_free(key);
    scn__node_free(value);
    return CS_ENOMEM;
}

const scn__node *scn__map_get(const scn__node *m, const char *key, const scn__node **key_out)
{
    if (key_out)
        *key_out = NULL;
    if (!m || m->kind != SCN__MAP)
        return NULL;
    for (size_t i = 0; i < m->n; i++) {
        if (strcmp(m->keys[i]->text, key) == 0) {
            if (key_out)
                *key_out = m->keys[i];
            return m->items[i];
        }
    }
    return NULL;
}

/* YAML 1.2 core schema nulls (plain scalars only). */
static bool is_null_text(const char *s)
{
    return s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
           strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

/* 1-based line and column of byte offset off in text. */
static void offset_to_line_col(const char *text, size_t len, size_t off, long *line, long *col)
{
    long l = 1, c = 1;
    for (size_t i = 0; i < off && i < len; i++) {
        if (text[i] == '\n') {
            l++;
            c = 1;
        } else if (((unsigned char)text[i] & 0xC0) != 0x80) {
            c++;
        }
    }
    *line = l;
    *col = c;
}

static int syntax_error(const char *label, const char *text, size_t len, const yaml_parser_t *p,
                        cs_err *err)
{
    const char *problem = p->problem ? p->problem : "unknown error";
    switch (p->error) {
    case YAML_MEMORY_ERROR:
        return cs_err_set(err, CS_ENOMEM, label, 0, 0, "out of memory while parsing YAML");
    case YAML_READER_ERROR: {
        long line, col;
        offset_to_line_col(text, len, p->problem_offset, &line, &col);
        return cs_err_set(err, CS_EINVAL, label, line, col, "YAML: %s (byte %zu)", problem,
                          p->problem_offset);
    }
    default:
        break;
    }
    long line = (long)p->problem_mark.line + 1, col = (long)p->problem_mark.column + 1;
    /* libyaml's message for a tab is cryptic; say what is wrong. */
    const char *hint = p->problem_mark.index < len && text[p->problem_mark.index] == '\t'
                           ? "; YAML indents with spaces, not tabs"
                           : "";
    if (p->context)
        return cs_err_set(err, CS_EINVAL, label, line, col, "YAML: %s (%s at %ld:%ld)%s", problem,
                          p->context, (long)p->context_mark.line + 1,
                          (long)p->context_mark.column + 1, hint);
    return cs_err_set(err, CS_EINVAL, label, line, col, "YAML: %s%s", problem, hint);
}

typedef struct copy_ctx {
    const char *label;
    yaml_document_t *doc;
    size_t count;
    cs_err *err;
} copy_ctx;

static int err_at_mark(copy_ctx *x, const yaml_node_t *yn, const char *path, const char *fmt,
                       const char *arg)
{
    char msg[512];
    snprintf(msg, sizeof msg, fmt, arg);
    return cs_err_set(x->err, CS_EINVAL, x->label, (long)yn->start_mark.line + 1,
                      (long)yn->start_mark.column + 1, "%s%s%s", path, path[0] ? ": " : "", msg);
}

static int copy_node(copy_ctx *x, yaml_node_t *yn, const char *path, int depth, scn__node **out)
{
    *out = NULL;
    if (depth > SCN__MAX_DEPTH)
        return err_at_mark(x, yn, path, "nesting deeper than %s levels (or an alias inside itself)",
                           "32");
    if (++x->count > SCN__MAX_NODES) { /* the document itself has fewer (checked first) */
        char lim[24];
        snprintf(lim, sizeof lim, "%d", SCN__MAX_NODES);
        return err_at_mark(x, yn, path,
                           "aliases expand the document to more than %s YAML nodes, the most a "
                           "scenario may have (an alias copies its anchor's whole node)",
                           lim);
    }
    long line = (long)yn->start_mark.line + 1, col = (long)yn->start_mark.column + 1;
    scn__node *n = node_new(SCN__NULL, line, col, -1);
    if (!n)
        return cs_err_set(x->err, CS_ENOMEM, x->label, 0, 0, "out of memory");
    int rc = 0;
    switch (yn->type) {
    case YAML_SCALAR_NODE: {
        const char *v = (const char *)yn->data.scalar.value;
        size_t len = yn->data.scalar.length;
        if (memchr(v, '\0', len)) {
            rc = err_at_mark(x, yn, path, "%sa value contains a NUL character", "");
            break;
        }
        n->quoted = yn->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
        n->text = malloc(len + 1);
        if (!n->text) {
            rc = cs_err_set(x->err, CS_ENOMEM, x->label, 0, 0, "out of memory");
            break;
        }
        memcpy(n->text, v, len);
        n->text[len] = '\0';
        n->kind = (!n->quoted && is_null_text(n->text)) ? SCN__NULL : SCN__SCALAR;
        break;
    }
    case YAML_SEQUENCE_NODE: {
        n->kind = SCN__SEQ;
        size_t i = 0;
        for (yaml_node_item_t *it = yn->data.sequence.items.start;
             it < yn->data.sequence.items.top && rc == 0; it++, i++) {
            char sub[256], idx[32];
            snprintf(idx, sizeof idx, "%zu", i);
            scn__join(sub, sizeof sub, path, idx);
            scn__node *child = NULL;
            yaml_node_t *cn = yaml_document_get_node(x->doc, *it);
            CS_ASSERT(cn != NULL);
            rc = copy_node(x, cn, sub, depth + 1, &child);
            if (rc == 0 && (rc = node_append(n, NULL, child)) != 0)
                cs_err_set(x->err, rc, x->label, 0, 0, "out of memory");
        }
        break;
    }
    case YAML_MAPPING_NODE: {
        n->kind = SCN__MAP;
        if (yn->data.mapping.pairs.top - yn->data.mapping.pairs.start > SCN__MAX_MAP_KEYS) {
            rc = err_at_mark(x, yn, path, "more than %s keys in one mapping", "1000");
            break;
        }
        for (yaml_node_pair_t *pr = yn->data.mapping.pairs.start;
             pr < yn->data.mapping.pairs.top && rc == 0; pr++) {
            yaml_node_t *kn = yaml_document_get_node(x->doc, pr->key);
            yaml_node_t *vn = yaml_document_get_node(x->doc, pr->value);
            CS_ASSERT(kn != NULL && vn != NULL);
            if (kn->type != YAML_SCALAR_NODE) {
                rc = err_at_mark(x, kn, path, "keys must be plain names, got a %s",
                                 kn->type == YAML_MAPPING_NODE ? "mapping" : "list");
                break;
            }
            scn__node *key = NULL, *val = NULL;
            rc = copy_node(x, kn, path, depth + 1, &key);
            if (rc != 0)
                break;
            if (key->text[0] == '\0') {
                scn__node_free(key);
                rc = err_at_mark(x, kn, path, "%sempty key", "");
                break;
            }
            const scn__node *first = NULL;
            scn__map_get(n, key->text, &first);
            if (first) {
                char msg[400];
                snprintf(msg, sizeof msg, "duplicate key \"%.200s\" (first at %ld:%ld)", key->text,
                         first->line, first->col);
                scn__node_free(key);
                rc = err_at_mark(x, kn, path, "%s", msg);
                break;
            }
            char sub[256];
            scn__join(sub, sizeof sub, path, key->text);
            rc = copy_node(x, vn, sub, depth + 1, &val);
            if (rc != 0) {
                scn__node_free(key);
                break;
            }
            if ((rc = node_append(n, key, val)) != 0)
                cs_err_set(x->err, rc, x->label, 0, 0, "out of memory");
        }
        break;
    }
    default:
        rc = err_at_mark(x, yn, path, "%sempty node", "");
        break;
    }
    if (rc != 0) {
        scn__node_free(n);
        return rc;
    }
    *out = n;
    return 0;
}

int scn__parse(const char *label, const char *text, size_t len, scn__node **root, cs_err *err)
{
    *root = NULL;
    if (len > SCN__MAX_FILE_BYTES)
        return cs_err_set(err, CS_EINVAL, label, 0, 0,
                          "file too large for a scenario (%zu bytes, at most %u)", len,
                          SCN__MAX_FILE_BYTES);
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p))
        return cs_err_set(err, CS_ENOMEM, label, 0, 0, "out of memory");
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    yaml_document_t doc;
    if (!yaml_parser_load(&p, &doc)) {
        int rc = syntax_error(label, text, len, &p, err);
        yaml_parser_delete(&p);
        return rc;
    }
    int rc = 0;
    yaml_node_t *yr = yaml_document_get_root_node(&doc);
    if (yr && doc.nodes.top - doc.nodes.start > SCN__MAX_NODES) {
        /* A large document, not an alias bomb: at the first node past the limit. */
        const yaml_node_t *past = doc.nodes.start + SCN__MAX_NODES;
        rc = cs_err_set(err, CS_EINVAL, label, (long)past->start_mark.line + 1,
                        (long)past->start_mark.column + 1,
                        "the document has more than %d YAML nodes (a node is a key, a value or a "
                        "list item), the most a scenario may have: the limit bounds the loader's "
                        "memory and leaves room for %d stations with every key written",
                        SCN__MAX_NODES, SCN__MAX_STATIONS);
        yr = NULL;
    }
    if (yr) {
        copy_ctx x = {label, &doc, 0, err};
        rc = copy_node(&x, yr, "", 0, root);
    }
    yaml_document_delete(&doc);
    if (rc == 0 && yr) {
        /* A scenario is one document: a second one is an error, not silently ignored. */
        yaml_document_t doc2;
        if (!yaml_parser_load(&p, &doc2)) {
            rc = syntax_error(label, text, len, &p, err);
        } else {
            yaml_node_t *r2 = yaml_document_get_root_node(&doc2);
            if (r2)
                rc = cs_err_set(err, CS_EINVAL, label, (long)r2->start_mark.line + 1,
                                (long)r2->start_mark.column + 1,
                                "a scenario is one YAML document; a second one starts here");
            yaml_document_delete(&doc2);
        }
    }
    yaml_parser_delete(&p);
    if (rc != 0) {
        scn__node_free(*root);
        *root = NULL;
    }
    return rc;
}

/* ---- --set KEY=VALUE ---- */

static int set_error(cs_err *err, const char *set, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int set_error(cs_err *err, const char *set, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return cs_err_set(err, CS_EINVAL, "--set", 0, 0, "%s: %s", set, msg);
}

/* Makes n a scalar (or null) holding value, from --set idx; drops its children. */
static int node_set_scalar(scn__node *n, const char *value, int idx)
{
    char *t = strdup(value);
    if (!t)
        return CS_ENOMEM;
    free_children(n);
    free(n->text);
    n->keys = n->items = NULL;
    n->n = n->cap = 0;
    n->text = t;
    n->quoted = false;
    n->kind = is_null_text(t) ? SCN__NULL : SCN__SCALAR;
    n->line = n->col = 0;
    n->set = idx;
    return 0;
}

int scn__apply_set(scn__node *root, const char *set, int idx, cs_err *err)
{
    CS_ASSERT(root && root->kind == SCN__MAP);
    const char *eq = strchr(set, '=');
    if (!eq || eq == set)
        return set_error(err, set, "expected KEY=VALUE, e.g. federated.rounds=5");
    size_t klen = (size_t)(eq - set);
    const char *value = eq + 1;
    char key[256];
    if (klen >= sizeof key)
        return set_error(err, set, "key too long");
    memcpy(key, set, klen);
    key[klen] = '\0';

    scn__node *cur = root;
    char done[256] = ""; /* the path walked so far */
    /* strtok_r skips empty components; reject them explicitly. */
    if (key[0] == '.' || key[klen - 1] == '.' || strstr(key, ".."))
        return set_error(err, set, "empty component in the key path");
    char *save = NULL;
    char *comp = strtok_r(key, ".", &save);
    while (comp) {
        char *next = strtok_r(NULL, ".", &save);
        bool last = next == NULL;
        scn__node *child = NULL;
        if (cur->kind == SCN__NULL && cur != root) {
            /* "links:" with nothing under it: an empty section, now shaped by this --set. */
            cur->kind = SCN__MAP;
            cur->set = idx;
        }
        if (cur->kind == SCN__MAP) {
            for (size_t i = 0; i < cur->n; i++)
                if (strcmp(cur->keys[i]->text, comp) == 0)
                    child = cur->items[i];
            if (!child) {
                /* A key the file does not give: add it. Unknown names are rejected later by
                 * validation, which then points at this --set. */
                scn__node *k = node_new(SCN__SCALAR, 0, 0, idx);
                child = node_new(last ? SCN__NULL : SCN__MAP, 0, 0, idx);
                if (!k || !child || !(k->text = strdup(comp))) {
                    scn__node_free(k);
                    scn__node_free(child);
                    return cs_err_set(err, CS_ENOMEM, "--set", 0, 0, "out of memory");
                }
                if (node_append(cur, k, child) != 0)
                    return cs_err_set(err, CS_ENOMEM, "--set", 0, 0, "out of memory");
            }
        } else if (cur->kind == SCN__SEQ) {
            char *end = NULL;
            errno = 0;
            unsigned long i = strtoul(comp, &end, 10);
            if (comp[0] < '0' || comp[0] > '9' || *end != '\0' || errno)
                return set_error(err, set, "%s is a list: expected an item index, got \"%s\"", done,
                                 comp);
            if (i >= cur->n)
                return set_error(err, set, "%s has %zu item%s: no item %lu", done, cur->n,
                                 cur->n == 1 ? "" : "s", i);
            child = cur->items[i];
        } else {
            return set_error(err, set, "%s is a single value: it has no key \"%s\"", done, comp);
        }
        char walked[256];
        scn__join(walked, sizeof walked, done, comp);
        snprintf(done, sizeof done, "%s", walked);
        if (last) {
            if (child->kind == SCN__MAP) {
                if (child->n)
                    return set_error(err, set, "%s is a section: set one of its keys, e.g. %s.%s",
                                     done, done, child->keys[0]->text);
                return set_error(err, set, "%s is a section: set one of its keys", done);
            }
            if (child->kind == SCN__SEQ) {
                for (size_t i = 0; i < child->n; i++)
                    if (child->items[i]->kind == SCN__MAP || child->items[i]->kind == SCN__SEQ)
                        return set_error(err, set,
                                         "%s is a list of sections: set a key of one item, "
                                         "e.g. %s.0.KEY",
                                         done, done);
            }
            if (node_set_scalar(child, value, idx) != 0)
                return cs_err_set(err, CS_ENOMEM, "--set", 0, 0, "out of memory");
            return 0;
        }
        cur = child;
        comp = next;
    }
    return set_error(err, set, "empty key");
}
