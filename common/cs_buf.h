/* cs_buf.h - a growable text buffer: append bytes, strings and printf output of any length,
 * then use or take the NUL-terminated result.
 *
 *   cs_buf b = {0};
 *   cs_buf_printf(&b, "%d rows\n", n);
 *   cs_buf_str(&b, "done\n");
 *   if (b.failed) ...out of memory...
 *   char *text = cs_buf_take(&b);   (or use b.p / b.len, then cs_buf_free(&b))
 *
 * Errors are sticky: when an allocation fails or a size would overflow, `failed` is set, the
 * text written so far stays as it was, and every later call does nothing. Check `failed` once at
 * the end. */
#ifndef CS_BUF_H
#define CS_BUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct cs_buf {
    char *p;     /* owned; NULL until the first call, then always NUL-terminated */
    size_t len;  /* bytes of text in p, without the terminator */
    size_t cap;  /* bytes allocated at p */
    bool failed; /* out of memory or size overflow: later calls do nothing */
} cs_buf;

/* Appends n bytes of s (which may hold NULs; s may be NULL when n is 0). */
void cs_buf_put(cs_buf *b, const char *s, size_t n);
/* Appends the string s. */
void cs_buf_str(cs_buf *b, const char *s);
/* Appends printf output of any length. */
void cs_buf_printf(cs_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Frees the text (b may be NULL) and leaves b zeroed, ready for reuse. */
void cs_buf_free(cs_buf *b);
/* The text, owned by the caller (free()), "" when nothing was written; NULL when b failed (the
 * text is then freed). Leaves b zeroed either way. */
char *cs_buf_take(cs_buf *b);

#endif
