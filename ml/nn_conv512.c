/* nn_conv512.c - direct convolutions with AVX-512 FMA register tiles: forward, weight gradient
 * and input gradient of one image, reading the input and the output gradient in place (no
 * im2col / im2row copy, no GEMM packing, no zeroing of a GEMM output). See nn_layers.h for the
 * layouts and the shapes they take; compiled for AVX-512F by function attribute and only called
 * after nn_conv512_available().
 *
 * Every kernel keeps a tile of R x S zmm accumulators in registers (R pixels or R kernel
 * positions, S x 16 channels), fed by S vector loads and R broadcasts per step. The sums of one
 * output element run in a fixed order that depends only on the shape, so results are the same
 * whichever thread runs the image.
 */
#include "nn_layers.h"

#include "cs.h"

#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define NN_HAVE_512 1
#include <immintrin.h>
#else
#define NN_HAVE_512 0
#endif

bool nn_conv512_fits(const nn_conv_dims *d, bool chw)
{
    /* output channels (forward, weight gradient) and, for HWC, input channels (input gradient)
     * in whole vectors */
    return d->oc % 16 == 0 && (chw || d->c % 16 == 0);
}

void nn_conv512_pack(const nn_conv_dims *d, bool chw, const float *restrict w, float *restrict pack)
{
    const int c = d->c, kh = d->kh, kw = d->kw, oc = d->oc, k = nn_conv_k(d);
    float *restrict wf = pack, *restrict wd = pack + (size_t)oc * k;
    /* 16 output channels at a time: 16 sequential read streams, 64-byte writes */
    for (int o0 = 0; o0 < oc; o0 += 16) {
        const int o1 = o0 + 16 < oc ? o0 + 16 : oc;
        for (int ci = 0; ci < c; ci++)
            for (int ki = 0; ki < kh; ki++)
                for (int kj = 0; kj < kw; kj++) {
                    const size_t src = (size_t)(ci * kh + ki) * kw + kj;
                    const size_t kk = chw ? src : (size_t)(ki * kw + kj) * c + ci;
                    for (int o = o0; o < o1; o++)
                        wf[kk * oc + o] = w[(size_t)o * k + src];
                }
    }
    if (chw)
        return;
    for (int t = 0; t < kh * kw; t++)
        for (int o = 0; o < oc; o++) {
            const float *restrict src = w + (size_t)o * k + t; /* w[o][ci][t], ci = 0.. */
            float *restrict dst = wd + ((size_t)t * oc + o) * c;
            for (int ci = 0; ci < c; ci++)
                dst[ci] = src[(size_t)ci * kh * kw];
        }
}

void nn_conv512_grad_add(const nn_conv_dims *d, bool chw, const float *restrict dw,
                         float *restrict w)
{
    const int c = d->c, kh = d->kh, kw = d->kw, oc = d->oc;
    for (int o = 0; o < oc; o++)
        for (int ci = 0; ci < c; ci++)
            for (int ki = 0; ki < kh; ki++)
                for (int kj = 0; kj < kw; kj++) {
                    const size_t kk =
                        chw ? (size_t)(ci * kh + ki) * kw + kj : (size_t)(ki * kw + kj) * c + ci;
                    w[((size_t)(o * c + ci) * kh + ki) * kw + kj] += dw[kk * oc + o];
                }
}

#if NN_HAVE_512

#define T512 __attribute__((target("avx512f")))
#define INLINE512 static inline __attribute__((always_inline)) T512

bool nn_conv512_available(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
}

/* The most pixels (or kernel positions) per tile for S vectors of channels: R * S accumulators,
 * S loaded vectors and one broadcast within the 32 zmm registers. */
#define RMAX 14
static int rmax_of(int s)
{
    return s == 4 ? 6 : s == 2 ? 13 : 14;
}

/* Channel vectors per tile: 4 only where asked and possible, else 2, else 1. */
static int s_of(int ch, int want4)
{
    return want4 && ch % 64 == 0 ? 4 : ch % 32 == 0 ? 2 : 1;
}

/* n items in near-equal blocks of at most rmax: the size of block b of nb. */
static int block_count(int n, int rmax)
{
    return (n + rmax - 1) / rmax;
}
static int block_start(int n, int nb, int b)
{
    return (int)((long)n * b / nb);
}

/* ---- forward: y[p][o] = sum over k of x[p + koff(k)] * wf[k][o] -------------------------- */

typedef struct fwd_args {
    const float *x;  /* input at the tile's first output pixel (kernel position 0, 0) */
    const float *w;  /* wf (K, OC) at the tile's first output channel */
    float *y;        /* output at the tile's first pixel and channel */
    int n1, n2, run; /* kernel positions: n1 x n2 groups of run consecutive floats */
    size_t s1, s2;   /* input floats between groups of the outer and the inner level */
    int ps;          /* input floats between neighbouring output pixels */
    int oc;          /* floats between pixels of y and between rows of wf */
} fwd_args;

INLINE512 void fwd_tile(const fwd_args *a, const int R, const int S)
{
    const float *w = a->w;
    const int ps = a->ps, oc = a->oc;
    for (int g1 = 0; g1 < a->n1; g1++) {
        /* each outer group (a kernel row of HWC input, an input channel of CHW) summed apart
         * and added to y: shorter float sums than one over all K */
        __m512 acc[RMAX][4];
        _Pragma("GCC unroll 16") for (int r = 0; r < R; r++)
            _Pragma("GCC unroll 16") for (int s = 0; s < S; s++) acc[r][s] = _mm512_setzero_ps();
        for (int g2 = 0; g2 < a->n2; g2++) {
            const float *xg = a->x + g1 * a->s1 + g2 * a->s2;
            for (int t = 0; t < a->run; t++, w += oc) {
                __m512 wv[4];
                _Pragma("GCC unroll 16") for (int s = 0; s < S; s++) wv[s] =
                    _mm512_loadu_ps(w + 16 * s);
                _Pragma("GCC unroll 16") for (int r = 0; r < R; r++)
                {
                    const __m512 b = _mm512_set1_ps(xg[t + r * ps]);
                    _Pragma("GCC unroll 16") for (int s = 0; s < S; s++) acc[r][s] =
                        _mm512_fmadd_ps(b, wv[s], acc[r][s]);
                }
            }
        }
        _Pragma("GCC unroll 16") for (int r = 0; r < R; r++)
            _Pragma("GCC unroll 16") for (int s = 0; s < S; s++)
        {
            float *p = a->y + (size_t)r * oc + 16 * s;
            _mm512_storeu_ps(p, g1 ? _mm512_add_ps(_mm512_loadu_ps(p), acc[r][s]) : acc[r][s]);
        }
    }
}

/* ---- weight gradient: dw[k][o] += sum over pixels of x[p + koff(k)] * dy[p][o] ------------ */

typedef struct dw_args {
    const float *x;  /* input at the tile's first kernel position, for the chunk's first pixel */
    const float *dy; /* output gradient at the chunk's first pixel and the tile's first channel */
    float *dw;       /* dw (K, OC) at the tile's first position and channel */
    int rows, ow;    /* the chunk: output rows, pixels per row */
    size_t rs;       /* input floats between output rows */
    int ps;          /* input floats between neighbouring output pixels */
    int oc;          /* floats between pixels of dy and between rows of dw */
} dw_args;

INLINE512 void dw_tile(const dw_args *a, const int R, const int S)
{
    __m512 acc[RMAX][4];
    const int oc = a->oc, ps = a->ps;
    _Pragma("GCC unroll 16") for (int r = 0; r < R; r++)
        _Pragma("GCC unroll 16") for (int s = 0; s < S; s++) acc[r][s] = _mm512_setzero_ps();
    for (int yy = 0; yy < a->rows; yy++) {
        const float *xp = a->x + yy * a->rs;
        const float *dp = a->dy + (size_t)yy * a->ow * oc;
        for (int xx = 0; xx < a->ow; xx++, xp += ps, dp += oc) {
            __m512 dv[4];
            _Pragma("GCC unroll 16") for (int s = 0; s < S; s++) dv[s] =
                _mm512_loadu_ps(dp + 16 * s);
            _Pragma("GCC unroll 16") for (int r = 0; r < R; r++)
            {
                const __m512 b = _mm512_set1_ps(xp[r]);
                _Pragma("GCC unroll 16") for (int s = 0; s < S; s++) acc[r][s] =
                    _mm512_fmadd_ps(b, dv[s], acc[r][s]);
            }
        }
    }
    /* the chunk's sum added once: partial sums of ~16 KiB of dy stay small against dw */
    _Pragma("GCC unroll 16") for (int r = 0; r < R; r++)
        _Pragma("GCC unroll 16") for (int s = 0; s < S; s++)
    {
        float *p = a->dw + (size_t)r * oc + 16 * s;
        _mm512_storeu_ps(p, _mm512_add_ps(_mm512_loadu_ps(p), acc[r][s]));
    }
}

/* ---- input gradient (HWC): dx[p + tap][c] += sum over o of dy[p][o] * wd[tap][o][c] -------- */

typedef struct dx_args {
    const float *dy; /* output gradient at the tile's first pixel */
    const float *w;  /* wd (KH*KW, OC, C) at the tap and the tile's first input channel */
    float *dx;       /* input gradient at the tile's first pixel shifted by the tap, and channel */
    int oc, c;       /* floats between pixels of dy; between rows of wd and pixels of dx */
} dx_args;

INLINE512 void dx_tile(const dx_args *a, const int R, const int S)
{
    __m512 acc[RMAX][4];
    _Pragma("GCC unroll 16") for (int r = 0; r < R; r++)
        _Pragma("GCC unroll 16") for (int s = 0; s < S; s++) acc[r][s] = _mm512_setzero_ps();
    const int oc = a->oc, c = a->c;
    const float *w = a->w;
    for (int o = 0; o < oc; o++, w += c) {
        __m512 wv[4];
        _Pragma("GCC unroll 16") for (int s = 0; s < S; s++) wv[s] = _mm512_loadu_ps(w + 16 * s);
        _Pragma("GCC unroll 16") for (int r = 0; r < R; r++)
        {
            const __m512 b = _mm512_set1_ps(a->dy[(size_t)r * oc + o]);
            _Pragma("GCC unroll 16") for (int s = 0; s < S; s++) acc[r][s] =
                _mm512_fmadd_ps(b, wv[s], acc[r][s]);
        }
    }
    _Pragma("GCC unroll 16") for (int r = 0; r < R; r++)
        _Pragma("GCC unroll 16") for (int s = 0; s < S; s++)
    {
        float *p = a->dx + (size_t)r * c + 16 * s;
        _mm512_storeu_ps(p, _mm512_add_ps(_mm512_loadu_ps(p), acc[r][s]));
    }
}

/* One out-of-line instance per (R, S), in tables indexed [S][R]. */
#define DEF_TILE(kind, R, S)                                                                       \
    static T512 void kind##_##R##_##S(const kind##_args *a)                                        \
    {                                                                                              \
        kind##_tile(a, R, S);                                                                      \
    }
#define DEF_S(kind, R) DEF_TILE(kind, R, 1) DEF_TILE(kind, R, 2)
#define DEF_S4(kind, R) DEF_TILE(kind, R, 1) DEF_TILE(kind, R, 2) DEF_TILE(kind, R, 4)
#define DEF_ALL(kind)                                                                              \
    DEF_S4(kind, 1)                                                                                \
    DEF_S4(kind, 2)                                                                                \
    DEF_S4(kind, 3)                                                                                \
    DEF_S4(kind, 4)                                                                                \
    DEF_S4(kind, 5)                                                                                \
    DEF_S4(kind, 6)                                                                                \
    DEF_S(kind, 7)                                                                                 \
    DEF_S(kind, 8)                                                                                 \
    DEF_S(kind, 9)                                                                                 \
    DEF_S(kind, 10)                                                                                \
    DEF_S(kind, 11)                                                                                \
    DEF_S(kind, 12)                                                                                \
    DEF_S(kind, 13)                                                                                \
    DEF_TILE(kind, 14, 1)
#define ROW_S1(kind)                                                                               \
    {                                                                                              \
        NULL, kind##_1_1, kind##_2_1, kind##_3_1, kind##_4_1, kind##_5_1, kind##_6_1, kind##_7_1,  \
            kind##_8_1, kind##_9_1, kind##_10_1, kind##_11_1, kind##_12_1, kind##_13_1,            \
            kind##_14_1                                                                            \
    }
#define ROW_S2(kind)                                                                               \
    {                                                                                              \
        NULL, kind##_1_2, kind##_2_2, kind##_3_2, kind##_4_2, kind##_5_2, kind##_6_2, kind##_7_2,  \
            kind##_8_2, kind##_9_2, kind##_10_2, kind##_11_2, kind##_12_2, kind##_13_2, NULL       \
    }
#define ROW_S4(kind)                                                                               \
    {                                                                                              \
        NULL, kind##_1_4, kind##_2_4, kind##_3_4, kind##_4_4, kind##_5_4, kind##_6_4, NULL, NULL,  \
            NULL, NULL, NULL, NULL, NULL, NULL                                                     \
    }
#define TABLE(kind)                                                                                \
    static void (*const kind##_tab[5][RMAX + 1])(const kind##_args *) = {                          \
        {NULL}, ROW_S1(kind), ROW_S2(kind), {NULL}, ROW_S4(kind)}

DEF_ALL(fwd)
DEF_ALL(dw)
DEF_ALL(dx)
TABLE(fwd);
TABLE(dw);
TABLE(dx);

/* Kernel positions as groups of consecutive input floats: HWC, one group per kernel row (KW*C
 * floats: n1 = KH, n2 = 1); CHW, one per (channel, kernel row) (KW floats: n1 = C, n2 = KH). */
static void groups_of(const nn_conv_dims *d, bool chw, fwd_args *a)
{
    if (chw) {
        a->n1 = d->c;
        a->s1 = (size_t)d->h * d->w;
        a->n2 = d->kh;
        a->s2 = (size_t)d->w;
        a->run = d->kw;
        a->ps = 1;
    } else {
        a->n1 = d->kh;
        a->s1 = (size_t)d->w * d->c;
        a->n2 = 1;
        a->s2 = 0;
        a->run = d->kw * d->c;
        a->ps = d->c;
    }
}

T512 void nn_conv512_fwd(const nn_conv_dims *d, bool chw, const float *x, const float *pack,
                         float *y)
{
    CS_ASSERT(nn_conv512_fits(d, chw));
    fwd_args a;
    groups_of(d, chw, &a);
    a.oc = d->oc;
    const int s = s_of(d->oc, 0), nb = block_count(d->ow, rmax_of(s));
    const size_t rs = chw ? (size_t)d->w : (size_t)d->w * d->c;
    for (int oy = 0; oy < d->oh; oy++)
        for (int b = 0; b < nb; b++) {
            const int ox = block_start(d->ow, nb, b), r = block_start(d->ow, nb, b + 1) - ox;
            for (int o = 0; o < d->oc; o += 16 * s) {
                a.x = x + oy * rs + (size_t)ox * a.ps;
                a.w = pack + o;
                a.y = y + ((size_t)oy * d->ow + ox) * d->oc + o;
                fwd_tab[s][r](&a);
            }
        }
}

/* Output rows per weight-gradient chunk: the chunk's output gradient (~16 KiB) stays in L1
 * while every tile of dw passes over it. */
static int dw_chunk_rows(const nn_conv_dims *d)
{
    const int rows = 16384 / (d->ow * d->oc * (int)sizeof(float));
    return rows < 1 ? 1 : rows > d->oh ? d->oh : rows;
}

T512 void nn_conv512_bwd(const nn_conv_dims *d, bool chw, const float *x, const float *pack,
                         const float *dy, float *dw, float *dx)
{
    CS_ASSERT(nn_conv512_fits(d, chw) && (!chw || !dx));
    const int oc = d->oc, k = nn_conv_k(d);
    fwd_args g;
    groups_of(d, chw, &g);
    /* weight gradient: tiles of R consecutive positions of a group x S*16 channels */
    const int sw = s_of(oc, 1), nbk = block_count(g.run, rmax_of(sw)), step = dw_chunk_rows(d);
    dw_args a;
    a.ow = d->ow;
    a.oc = oc;
    a.ps = g.ps;
    a.rs = chw ? (size_t)d->w : (size_t)d->w * d->c;
    for (int oy0 = 0; oy0 < d->oh; oy0 += step) {
        a.rows = oy0 + step < d->oh ? step : d->oh - oy0;
        for (int g1 = 0; g1 < g.n1; g1++)
            for (int g2 = 0; g2 < g.n2; g2++) {
                const size_t kg = (size_t)(g1 * g.n2 + g2) * g.run;
                for (int b = 0; b < nbk; b++) {
                    const int t = block_start(g.run, nbk, b);
                    const int r = block_start(g.run, nbk, b + 1) - t;
                    for (int o = 0; o < oc; o += 16 * sw) {
                        a.x = x + g1 * g.s1 + g2 * g.s2 + t + oy0 * a.rs;
                        a.dy = dy + (size_t)oy0 * d->ow * oc + o;
                        a.dw = dw + (kg + t) * oc + o;
                        dw_tab[sw][r](&a);
                    }
                }
            }
    }
    if (!dx)
        return;
    /* input gradient: every output pixel tile adds its contribution at each tap */
    const int c = d->c, sx = s_of(c, 0), nb = block_count(d->ow, rmax_of(sx));
    const float *wd = pack + (size_t)oc * k;
    memset(dx, 0, sizeof(float) * (size_t)d->h * d->w * c);
    dx_args e;
    e.oc = oc;
    e.c = c;
    for (int oy = 0; oy < d->oh; oy++)
        for (int b = 0; b < nb; b++) {
            const int ox = block_start(d->ow, nb, b), r = block_start(d->ow, nb, b + 1) - ox;
            e.dy = dy + ((size_t)oy * d->ow + ox) * oc;
            for (int ch = 0; ch < c; ch += 16 * sx)
                for (int ki = 0; ki < d->kh; ki++)
                    for (int kj = 0; kj < d->kw; kj++) {
                        e.w = wd + (size_t)(ki * d->kw + kj) * oc * c + ch;
                        e.dx = dx + ((size_t)(oy + ki) * d->w + ox + kj) * c + ch;
                        dx_tab[sx][r](&e);
                    }
        }
}

#else /* no AVX-512 kernels on this target */

bool nn_conv512_available(void)
{
    return false;
}

void nn_conv512_fwd(const nn_conv_dims *d, bool chw, const float *x, const float *pack, float *y)
{
    (void)d, (void)chw, (void)x, (void)pack, (void)y;
    CS_ASSERT(!"AVX-512 kernels are not built for this target");
}

void nn_conv512_bwd(const nn_conv_dims *d, bool chw, const float *x, const float *pack,
                    const float *dy, float *dw, float *dx)
{
    (void)d, (void)chw, (void)x, (void)pack, (void)dy, (void)dw, (void)dx;
    CS_ASSERT(!"AVX-512 kernels are not built for this target");
}

#endif
