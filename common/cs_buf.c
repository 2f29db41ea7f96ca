#include "cs_buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room for extra more bytes and the terminator; false (and failed) when there can be none. */
static bool reserve(cs_buf *b, size_t extra)
{
    if (b->failed)
        return false;
    if (extra > SIZE_MAX - 1 - b->len) {
        b->failed = true;
        return false;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) {
            cap = need;
            break;
        }
        cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (!p) {
        b->failed = true;
        return false;
    }
    if (!b->p)
        p[0] = '\0';
    b->p = p;
    b->cap = cap;
    return true;
}

void cs_buf_put(cs_buf *b, const char *s, size_t n)
{
    if (!reserve(b, n))
        return;
    if (n)
        memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void cs_buf_str(cs_buf *b, const char *s)
{
    cs_buf_put(b, s, strlen(s));
}

void cs_buf_printf(cs_buf *b, const char *fmt, ...)
{
    if (!reserve(b, 0))
        return;
    /* First into the room there is; when that is too small, grow to the length it reported. */
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (k < 0) {
        b->p[b->len] = '\0';
        b->failed = true;
        return;
    }
    if ((size_t)k >= b->cap - b->len) {
        b->p[b->len] = '\0';
        if (!reserve(b, (size_t)k))
            return;
        va_start(ap, fmt);
        vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)k;
}

void cs_buf_free(cs_buf *b)
{
    if (!b)
        return;
    free(b->p);
    memset(b, 0, sizeof *b);
}

char *cs_buf_take(cs_buf *b)
{
    if (!b->failed)
        reserve(b, 0);
    char *p = b->failed ? NULL : b->p;
    if (!p)
        free(b->p);
    memset(b, 0, sizeof *b);
    return p;
}
