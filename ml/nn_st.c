/* nn_st.c - safetensors write and validating parse (format in nn_st.h). */
#include "nn_st.h"

#include "cs_buf.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "nn_st.c stores tensors as host bytes: a little-endian host is required"
#endif

size_t nn_dtype_size(nn_dtype t)
{
    switch (t) {
    case NN_DTYPE_F32:
        return 4;
    case NN_DTYPE_F16:
        return 2;
    case NN_DTYPE_I8:
        return 1;
    case NN_DTYPE_I64:
        return 8;
    case NN_DTYPE_U8:
        return 1;
    }
    CS_ASSERT(!"unknown dtype");
}

const char *nn_dtype_name(nn_dtype t)
{
    switch (t) {
    case NN_DTYPE_F32:
        return "F32";
    case NN_DTYPE_F16:
        return "F16";
    case NN_DTYPE_I8:
        return "I8";
    case NN_DTYPE_I64:
        return "I64";
    case NN_DTYPE_U8:
        return "U8";
    }
    CS_ASSERT(!"unknown dtype");
}

static int dtype_parse(const char *s, nn_dtype *out)
{
    static const nn_dtype all[] = {NN_DTYPE_F32, NN_DTYPE_F16, NN_DTYPE_I8, NN_DTYPE_I64,
                                   NN_DTYPE_U8};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (strcmp(s, nn_dtype_name(all[i])) == 0) {
            *out = all[i];
            return 0;
        }
    return -1;
}

/* Other dtypes the safetensors format defines (valid files, but not read by constsim). */
static bool dtype_is_other_safetensors(const char *s)
{
    static const char *other[] = {"BOOL", "I16", "U16", "BF16",    "I32",
                                  "U32",  "F64", "U64", "F8_E4M3", "F8_E5M2"};
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++)
        if (strcmp(s, other[i]) == 0)
            return true;
    return false;
}

/* Length of the valid UTF-8 sequence at s[0..n), or 0 if invalid (overlongs, surrogates and
 * code points above U+10FFFF are invalid). */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        cp = c & 0x1Fu;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        cp = c & 0x0Fu;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        cp = c & 0x07u;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3Fu);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

/* Offset of the first invalid byte of s[0..n) (UTF-8, or a control character other than JSON
 * whitespace), or n if none. */
static size_t text_check(const unsigned char *s, size_t n, bool allow_ws_controls)
{
    size_t i = 0;
    while (i < n) {
        if (s[i] < 0x20) {
            if (allow_ws_controls && (s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) {
                i++;
                continue;
            }
            return i;
        }
        size_t l = utf8_seq_len(s + i, n - i);
        if (l == 0)
            return i;
        i += l;
    }
    return n;
}

/* ---------------------------------------------------------------- writer */

/* A JSON string literal: quotes, backslashes and control characters escaped; UTF-8 as is. */
static void json_string(cs_buf *b, const char *s)
{
    cs_buf_put(b, "\"", 1);
    const char *run = s;
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\' || c < 0x20) {
            cs_buf_put(b, run, (size_t)(p - run));
            if (c == '"')
                cs_buf_str(b, "\\\"");
            else if (c == '\\')
                cs_buf_str(b, "\\\\");
            else
                cs_buf_printf(b, "\\u%04x", c);
            run = p + 1;
        }
    }
    cs_buf_str(b, run);
    cs_buf_put(b, "\"", 1);
}

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int check_tensor_for_write(const nn_st_tensor *t, size_t i, bool need_data, cs_err *err)
{
    if (!t->name || !t->name[0])
        return cs_err_set(err, CS_EINVAL, NULL, 0, 0, "tensor %zu: empty name", i);
    size_t nl = strlen(t->name);
    if (text_check((const unsigned char *)t->name, nl, false) != nl)
        return cs_err_set(err, CS_EINVAL, NULL, 0, 0,
                          "tensor %zu: name is not valid UTF-8 text without control characters", i);
    if (strcmp(t->name, "__metadata__") == 0)
        return cs_err_set(err, CS_EINVAL, NULL, 0, 0,
                          "tensor %zu: the name __metadata__ is reserved", i);
    if (t->ndim < 0 || t->ndim > NN_ST_MAX_DIMS)
        return cs_err_set(err, CS_EINVAL, NULL, 0, 0, "tensor \"%s\": %d dimensions (at most %d)",
                          t->name, t->ndim, NN_ST_MAX_DIMS);
    size_t count = 1;
    for (int d = 0; d < t->ndim; d++) {
        if (t->shape[d] < 0)
            return cs_err_set(err, CS_EINVAL, NULL, 0, 0, "tensor \"%s\": negative dimension",
                              t->name);
        if ((uint64_t)t->shape[d] > SIZE_MAX || cs_size_mul(count, (size_t)t->shape[d], &count))
            return cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "tensor \"%s\": shape too large",
                              t->name);
    }
    size_t nbytes;
    if (cs_size_mul(count, nn_dtype_size(t->dtype), &nbytes))
        return cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "tensor \"%s\": shape too large", t->name);
    if (nbytes != t->nbytes)
        return cs_err_set(err, CS_EINVAL, NULL, 0, 0,
                          "tensor \"%s\": %zu bytes given, the shape needs %zu", t->name, t->nbytes,
                          nbytes);
    if (need_data && nbytes > 0 && !t->data)
        return cs_err_set(err, CS_EINVAL, NULL, 0, 0, "tensor \"%s\": no data", t->name);
    return 0;
}

/* The file's header and layout; with copy, the tensors' data too; offsets (if not NULL)
 * receives each tensor's absolute data offset. */
static int write_impl(const nn_st_tensor *tensors, size_t n, const nn_st_meta *meta, size_t n_meta,
                      unsigned char **buf, size_t *len, size_t *offsets, bool copy, cs_err *err)
{
    *buf = NULL;
    *len = 0;
    for (size_t i = 0; i < n; i++) {
        int rc = check_tensor_for_write(&tensors[i], i, copy, err);
        if (rc)
            return rc;
    }
    for (size_t i = 0; i < n_meta; i++) {
        if (!meta[i].key || !meta[i].value)
            return cs_err_set(err, CS_EINVAL, NULL, 0, 0, "metadata %zu: missing key or value", i);
        size_t kl = strlen(meta[i].key), vl = strlen(meta[i].value);
        if (text_check((const unsigned char *)meta[i].key, kl, false) != kl ||
            text_check((const unsigned char *)meta[i].value, vl, true) != vl)
            return cs_err_set(err, CS_EINVAL, NULL, 0, 0, "metadata %zu: not valid UTF-8 text", i);
    }
    int rc = 0;
    size_t *data_off = NULL;
    const char **names = NULL;
    cs_buf h = {0};
    size_t n1 = n ? n : 1;
    data_off = malloc(n1 * sizeof *data_off);
    names = malloc(n1 * sizeof *names);
    if (!data_off || !names) {
        rc = cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        names[i] = tensors[i].name;
    qsort(names, n, sizeof *names, cmp_str_ptr);
    for (size_t i = 1; i < n; i++)
        if (strcmp(names[i - 1], names[i]) == 0) {
            rc = cs_err_set(err, CS_EINVAL, NULL, 0, 0, "duplicate tensor name \"%s\"", names[i]);
            goto done;
        }
    /* Data layout: element size 8, then 4, 2, 1, each group in the caller's order. */
    size_t data_len = 0;
    static const size_t sizes[] = {8, 4, 2, 1};
    for (size_t s = 0; s < 4; s++)
        for (size_t i = 0; i < n; i++) {
            if (nn_dtype_size(tensors[i].dtype) != sizes[s])
                continue;
            data_off[i] = data_len;
            if (tensors[i].nbytes > SIZE_MAX - data_len) {
                rc = cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "tensors too large");
                goto done;
            }
            data_len += tensors[i].nbytes;
        }
    /* Header. */
    cs_buf_put(&h, "{", 1);
    bool first = true;
    if (n_meta > 0) {
        cs_buf_str(&h, "\"__metadata__\":{");
        for (size_t i = 0; i < n_meta; i++) {
            if (i)
                cs_buf_put(&h, ",", 1);
            json_string(&h, meta[i].key);
            cs_buf_put(&h, ":", 1);
            json_string(&h, meta[i].value);
        }
        cs_buf_put(&h, "}", 1);
        first = false;
    }
    for (size_t i = 0; i < n; i++) {
        const nn_st_tensor *t = &tensors[i];
        if (!first)
            cs_buf_put(&h, ",", 1);
        first = false;
        json_string(&h, t->name);
        cs_buf_str(&h, ":{\"dtype\":\"");
        cs_buf_str(&h, nn_dtype_name(t->dtype));
        cs_buf_str(&h, "\",\"shape\":[");
        for (int d = 0; d < t->ndim; d++)
            cs_buf_printf(&h, d ? ",%lld" : "%lld", (long long)t->shape[d]);
        cs_buf_printf(&h, "],\"data_offsets\":[%zu,%zu]}", data_off[i], data_off[i] + t->nbytes);
    }
    cs_buf_put(&h, "}", 1);
    while (!h.failed && h.len % 8 != 0)
        cs_buf_put(&h, " ", 1);
    if (h.failed) {
        rc = cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory");
        goto done;
    }
    if (data_len > SIZE_MAX - 8 - h.len) {
        rc = cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "tensors too large");
        goto done;
    }
    size_t total = 8 + h.len + data_len;
    unsigned char *out = malloc(total ? total : 1);
    if (!out) {
        rc = cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory (%zu bytes)", total);
        goto done;
    }
    uint64_t hl = h.len;
    for (int i = 0; i < 8; i++)
        out[i] = (unsigned char)(hl >> (8 * i));
    memcpy(out + 8, h.p, h.len);
    unsigned char *data = out + 8 + h.len;
    for (size_t i = 0; i < n; i++) {
        if (copy && tensors[i].nbytes)
            memcpy(data + data_off[i], tensors[i].data, tensors[i].nbytes);
        if (offsets)
            offsets[i] = 8 + h.len + data_off[i];
    }
    *buf = out;
    *len = total;
done:
    cs_buf_free(&h);
    free(names);
    free(data_off);
    return rc;
}

int nn_st_write(const nn_st_tensor *tensors, size_t n, const nn_st_meta *meta, size_t n_meta,
                unsigned char **buf, size_t *len, cs_err *err)
{
    return write_impl(tensors, n, meta, n_meta, buf, len, NULL, true, err);
}

int nn_st_write_header(const nn_st_tensor *tensors, size_t n, const nn_st_meta *meta, size_t n_meta,
                       unsigned char **buf, size_t *len, size_t *offsets, cs_err *err)
{
    return write_impl(tensors, n, meta, n_meta, buf, len, offsets, false, err);
}

/* ---------------------------------------------------------------- parser */

typedef struct parse_ctx {
    const char *path;
    const unsigned char *header; /* file bytes [8, 8+hlen) */
    size_t hlen;
    cs_err *err;
} parse_ctx;

/* The header offsets of the keys of the root object, in document order (the order of cJSON's
 * children). The header is valid JSON here; a single pass tracks strings and nesting depth. Fills
 * at most cap entries and returns how many keys it found. */
static size_t top_level_keys(const unsigned char *h, size_t n, size_t *pos, size_t cap)
{
    size_t found = 0, depth = 0, i = 0;
    while (i < n) {
        unsigned char ch = h[i];
        if (ch == '"') {
            size_t start = i++;
            while (i < n && h[i] != '"')
                i += h[i] == '\\' ? 2 : 1;
            i++;
            if (depth == 1) {
                size_t j = i;
                while (j < n && (h[j] == ' ' || h[j] == '\t' || h[j] == '\n' || h[j] == '\r'))
                    j++;
                if (j < n && h[j] == ':' && found < cap)
                    pos[found++] = start;
            }
            continue;
        }
        if (ch == '{' || ch == '[')
            depth++;
        else if ((ch == '}' || ch == ']') && depth > 0)
            depth--;
        i++;
    }
    return found;
}

/* A JSON number that is an exact non-negative integer <= 2^53. */
static bool json_uint(const cJSON *v, uint64_t *out)
{
    if (!cJSON_IsNumber(v))
        return false;
    double d = v->valuedouble;
    if (!(d >= 0.0 && d <= 9007199254740992.0) || floor(d) != d)
        return false;
    *out = (uint64_t)d;
    return true;
}

static int perr(parse_ctx *c, size_t offset, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int perr(parse_ctx *c, size_t offset, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return cs_err_set_at(c->err, CS_EINVAL, c->path, (long long)offset, "%s", msg);
}

/* Name shortened for messages (names come from untrusted files). */
static const char *short_name(const char *s, char *buf, size_t cap)
{
    size_t n = strlen(s);
    if (n < cap)
        return s;
    snprintf(buf, cap, "%.*s...", (int)(cap - 4), s);
    return buf;
}

typedef struct entry {
    size_t idx;
    uint64_t begin, end;
} entry;

static int cmp_entry(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return x->idx < y->idx ? -1 : (x->idx > y->idx);
}

static int parse_tensor(parse_ctx *c, const cJSON *obj, const char *name, size_t hoff,
                        size_t data_len, nn_st_tensor *t, uint64_t *begin, uint64_t *end)
{
    char nb[80];
    const char *sn = short_name(name, nb, sizeof nb);
    if (!cJSON_IsObject(obj))
        return perr(c, hoff, "tensor \"%s\": expected an object with dtype, shape, data_offsets",
                    sn);
    const cJSON *dt = NULL, *sh = NULL, *off = NULL;
    for (const cJSON *f = obj->child; f; f = f->next) {
        const cJSON **slot = NULL;
        if (strcmp(f->string, "dtype") == 0)
            slot = &dt;
        else if (strcmp(f->string, "shape") == 0)
            slot = &sh;
        else if (strcmp(f->string, "data_offsets") == 0)
            slot = &off;
        else {
            char fb[40];
            return perr(c, hoff, "tensor \"%s\": unknown field \"%s\"", sn,
                        short_name(f->string, fb, sizeof fb));
        }
        if (*slot)
            return perr(c, hoff, "tensor \"%s\": field \"%s\" given twice", sn, f->string);
        *slot = f;
    }
    if (!dt)
        return perr(c, hoff, "tensor \"%s\": missing dtype", sn);
    if (!cJSON_IsString(dt))
        return perr(c, hoff, "tensor \"%s\": dtype is not a string", sn);
    if (dtype_parse(dt->valuestring, &t->dtype) != 0) {
        char db[40];
        if (dtype_is_other_safetensors(dt->valuestring))
            return perr(c, hoff,
                        "tensor \"%s\": unsupported dtype \"%s\" (F32, F16, I8, I64 are read)", sn,
                        dt->valuestring);
        return perr(c, hoff, "tensor \"%s\": unknown dtype \"%s\"", sn,
                    short_name(dt->valuestring, db, sizeof db));
    }
    if (!sh)
        return perr(c, hoff, "tensor \"%s\": missing shape", sn);
    if (!cJSON_IsArray(sh))
        return perr(c, hoff, "tensor \"%s\": shape is not an array", sn);
    int nd = cJSON_GetArraySize(sh);
    if (nd > NN_ST_MAX_DIMS)
        return perr(c, hoff, "tensor \"%s\": %d dimensions (at most %d)", sn, nd, NN_ST_MAX_DIMS);
    t->ndim = nd;
    size_t count = 1;
    bool overflow = false;
    int d = 0;
    for (const cJSON *e = sh->child; e; e = e->next, d++) {
        uint64_t v;
        if (!json_uint(e, &v))
            return perr(c, hoff, "tensor \"%s\": shape[%d] is not a non-negative integer", sn, d);
        t->shape[d] = (int64_t)v;
        if (v > SIZE_MAX || cs_size_mul(count, (size_t)v, &count))
            overflow = true;
    }
    size_t nbytes = 0;
    if (overflow || cs_size_mul(count, nn_dtype_size(t->dtype), &nbytes))
        return perr(c, hoff, "tensor \"%s\": the shape's byte size overflows", sn);
    if (!off)
        return perr(c, hoff, "tensor \"%s\": missing data_offsets", sn);
    if (!cJSON_IsArray(off) || cJSON_GetArraySize(off) != 2 || !json_uint(off->child, begin) ||
        !json_uint(off->child->next, end))
        return perr(c, hoff,
                    "tensor \"%s\": data_offsets must be [begin, end], two non-negative integers",
                    sn);
    if (*begin > *end)
        return perr(c, hoff, "tensor \"%s\": data_offsets [%llu, %llu]: begin after end", sn,
                    (unsigned long long)*begin, (unsigned long long)*end);
    if (*end > data_len)
        return perr(
            c, hoff,
            "tensor \"%s\": data_offsets [%llu, %llu] go beyond the data section (%zu bytes)", sn,
            (unsigned long long)*begin, (unsigned long long)*end, data_len);
    if (*end - *begin != nbytes)
        return perr(
            c, hoff,
            "tensor \"%s\": shape needs %zu bytes of %s, data_offsets [%llu, %llu] hold %llu", sn,
            nbytes, nn_dtype_name(t->dtype), (unsigned long long)*begin, (unsigned long long)*end,
            (unsigned long long)(*end - *begin));
    t->nbytes = nbytes;
    return 0;
}

int nn_st_parse(const unsigned char *buf, size_t len, const char *path, nn_st_file *out,
                cs_err *err)
{
    memset(out, 0, sizeof *out);
    parse_ctx c = {.path = path, .err = err};
    if (len < 8)
        return perr(&c, 0, "file is %zu bytes, too short for the 8-byte header length", len);
    uint64_t hl = 0;
    for (int i = 0; i < 8; i++)
        hl |= (uint64_t)buf[i] << (8 * i);
    if (hl > len - 8)
        return perr(&c, 0, "header length %llu goes beyond the end of the file (%zu bytes)",
                    (unsigned long long)hl, len);
    if (hl < 2)
        return perr(&c, 8, "header length %llu: too short for a JSON object",
                    (unsigned long long)hl);
    c.header = buf + 8;
    c.hlen = (size_t)hl;
    if (c.header[0] != '{')
        return perr(&c, 8, "header does not start with '{'");
    size_t bad = text_check(c.header, c.hlen, true);
    if (bad != c.hlen)
        return perr(&c, 8 + bad,
                    c.header[bad] < 0x20 ? "control character in the header"
                                         : "invalid UTF-8 in the header");
    /* cJSON gets a private copy with zero padding beyond the parsed length. */
    char *copy = malloc(c.hlen + 16);
    if (!copy)
        return cs_err_set_at(err, CS_ENOMEM, path, 8, "out of memory for a %zu-byte header",
                             c.hlen);
    memcpy(copy, c.header, c.hlen);
    memset(copy + c.hlen, 0, 16);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(copy, c.hlen, &end, 0);
    int rc = 0;
    entry *ents = NULL;
    const char **sorted = NULL;
    size_t *keypos = NULL;
    if (!root) {
        size_t pos =
            (end && end >= copy && (size_t)(end - copy) <= c.hlen) ? (size_t)(end - copy) : 0;
        rc = perr(&c, 8 + pos, "invalid JSON in the header");
        goto fail;
    }
    size_t pos =
        (end && end >= copy && (size_t)(end - copy) <= c.hlen) ? (size_t)(end - copy) : c.hlen;
    while (pos < c.hlen &&
           (copy[pos] == ' ' || copy[pos] == '\t' || copy[pos] == '\n' || copy[pos] == '\r'))
        pos++;
    if (pos != c.hlen) {
        rc = perr(&c, 8 + pos, "unexpected bytes after the header's JSON object");
        goto fail;
    }
    if (!cJSON_IsObject(root)) {
        rc = perr(&c, 8, "header is not a JSON object");
        goto fail;
    }
    out->buf = buf;
    out->len = len;
    out->data_start = 8 + c.hlen;
    size_t data_len = len - out->data_start;

    /* Where each root key is in the header (for error offsets). */
    size_t n_children = 0, n_meta = 0, str_bytes = 0;
    for (const cJSON *e = root->child; e; e = e->next)
        n_children++;
    keypos = malloc((n_children ? n_children : 1) * sizeof *keypos);
    if (!keypos) {
        rc = cs_err_set_at(err, CS_ENOMEM, path, 8, "out of memory");
        goto fail;
    }
    size_t nk = top_level_keys(c.header, c.hlen, keypos, n_children);
    for (size_t k = 0; k < n_children; k++)
        keypos[k] = nk == n_children ? 8 + keypos[k] : 8;
    /* Metadata checks; string storage. */
    const cJSON *meta_obj = NULL;
    size_t ci = 0;
    for (const cJSON *e = root->child; e; e = e->next, ci++) {
        if (strcmp(e->string, "__metadata__") == 0) {
            size_t hoff = keypos[ci];
            if (meta_obj) {
                rc = perr(&c, hoff, "__metadata__ given twice");
                goto fail;
            }
            meta_obj = e;
            if (!cJSON_IsObject(e)) {
                rc = perr(&c, hoff, "__metadata__ is not an object");
                goto fail;
            }
            for (const cJSON *m = e->child; m; m = m->next) {
                if (!cJSON_IsString(m)) {
                    char kb[40];
                    rc = perr(&c, hoff, "__metadata__: the value of \"%s\" is not a string",
                              short_name(m->string, kb, sizeof kb));
                    goto fail;
                }
                n_meta++;
                str_bytes += strlen(m->string) + strlen(m->valuestring) + 2;
            }
        } else {
            str_bytes += strlen(e->string) + 1;
        }
    }
    size_t n = n_children - (meta_obj ? 1 : 0);
    out->tensors = calloc(n ? n : 1, sizeof *out->tensors);
    out->meta = calloc(n_meta ? n_meta : 1, sizeof *out->meta);
    out->strings = malloc(str_bytes ? str_bytes : 1);
    ents = malloc((n ? n : 1) * sizeof *ents);
    sorted = malloc((n ? n : 1) * sizeof *sorted);
    if (!out->tensors || !out->meta || !out->strings || !ents || !sorted) {
        rc = cs_err_set_at(err, CS_ENOMEM, path, 8, "out of memory");
        goto fail;
    }
    char *sp = out->strings;
    size_t ti = 0;
    ci = 0;
    for (const cJSON *e = root->child; e; e = e->next, ci++) {
        size_t hoff = keypos[ci];
        if (e == meta_obj) {
            for (const cJSON *m = e->child; m; m = m->next) {
                nn_st_meta *mm = &out->meta[out->n_meta++];
                size_t kl = strlen(m->string) + 1, vl = strlen(m->valuestring) + 1;
                memcpy(sp, m->string, kl);
                mm->key = sp;
                sp += kl;
                memcpy(sp, m->valuestring, vl);
                mm->value = sp;
                sp += vl;
            }
            continue;
        }
        nn_st_tensor *t = &out->tensors[ti];
        if (e->string[0] == '\0') {
            rc = perr(&c, hoff, "tensor with an empty name");
            goto fail;
        }
        rc = parse_tensor(&c, e, e->string, hoff, data_len, t, &ents[ti].begin, &ents[ti].end);
        if (rc)
            goto fail;
        size_t kl = strlen(e->string) + 1;
        memcpy(sp, e->string, kl);
        t->name = sp;
        sp += kl;
        t->header_offset = hoff;
        t->file_offset = out->data_start + (size_t)ents[ti].begin;
        t->data = buf + t->file_offset;
        ents[ti].idx = ti;
        sorted[ti] = t->name;
        ti++;
        out->n = ti;
    }
    CS_ASSERT(ti == n);
    /* Unique names. */
    qsort(sorted, n, sizeof *sorted, cmp_str_ptr);
    for (size_t i = 1; i < n; i++)
        if (strcmp(sorted[i - 1], sorted[i]) == 0) {
            /* Report the later entry of the pair in header order. */
            size_t last = 0;
            for (size_t k = 0; k < n; k++)
                if (strcmp(out->tensors[k].name, sorted[i]) == 0)
                    last = k;
            char nb[80];
            rc = perr(&c, out->tensors[last].header_offset, "duplicate tensor name \"%s\"",
                      short_name(sorted[i], nb, sizeof nb));
            goto fail;
        }
    /* The data section is covered exactly. */
    qsort(ents, n, sizeof *ents, cmp_entry);
    uint64_t cursor = 0;
    for (size_t i = 0; i < n; i++) {
        const nn_st_tensor *t = &out->tensors[ents[i].idx];
        char nb[80];
        const char *sn = short_name(t->name, nb, sizeof nb);
        if (ents[i].begin < cursor) {
            rc = perr(&c, out->data_start + (size_t)ents[i].begin,
                      "tensor \"%s\": data_offsets [%llu, %llu] overlap another tensor", sn,
                      (unsigned long long)ents[i].begin, (unsigned long long)ents[i].end);
            goto fail;
        }
        if (ents[i].begin > cursor) {
            rc = perr(&c, out->data_start + (size_t)cursor,
                      "data bytes [%llu, %llu) belong to no tensor (gap before \"%s\")",
                      (unsigned long long)cursor, (unsigned long long)ents[i].begin, sn);
            goto fail;
        }
        cursor = ents[i].end;
    }
    if (cursor != data_len) {
        rc = perr(&c, out->data_start + (size_t)cursor,
                  "%llu bytes at the end of the data section belong to no tensor",
                  (unsigned long long)(data_len - cursor));
        goto fail;
    }
    free(keypos);
    free(ents);
    free(sorted);
    free(copy);
    cJSON_Delete(root);
    return 0;
fail:
    free(keypos);
    free(ents);
    free(sorted);
    free(copy);
    cJSON_Delete(root);
    nn_st_free(out);
    return rc;
}

void nn_st_free(nn_st_file *f)
{
    if (!f)
        return;
    free(f->tensors);
    free(f->meta);
    free(f->strings);
    memset(f, 0, sizeof *f);
}

const nn_st_tensor *nn_st_find(const nn_st_file *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->tensors[i].name, name) == 0)
            return &f->tensors[i];
    return NULL;
}

const char *nn_st_meta_get(const nn_st_file *f, const char *key)
{
    for (size_t i = 0; i < f->n_meta; i++)
        if (strcmp(f->meta[i].key, key) == 0)
            return f->meta[i].value;
    return NULL;
}
