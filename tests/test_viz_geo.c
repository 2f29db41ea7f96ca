/* test_viz_geo.c - viz/viz_geo.c: the even-odd scanline fill on shapes with known pixel counts,
 * the Natural Earth outlines (ring count, land fraction of the filled map, fill time), the
 * outline folder lookup, and the loader's errors. Exits 77 after the synthetic checks when the
 * outlines folder (../shared/geo) is not there. */
#include "cs.h"
#include "t.h"
#include "viz_internal.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define BG 0xFF000000u
#define FG 0xFF20A040u

/* A paths set of rings given as (lon, lat) pairs: counts[k] points for ring k. */
static viz__paths make_rings(const float *pts, const size_t *counts, size_t n)
{
    viz__paths p = {0};
    size_t total = 0;
    for (size_t k = 0; k < n; k++)
        total += counts[k];
    p.pts = malloc(total * 2 * sizeof(float));
    p.off = malloc((n + 1) * sizeof(size_t));
    memcpy(p.pts, pts, total * 2 * sizeof(float));
    p.off[0] = 0;
    for (size_t k = 0; k < n; k++)
        p.off[k + 1] = p.off[k] + counts[k];
    p.n_pts = total;
    p.n = n;
    return p;
}

static long count_px(const uint32_t *px, int pitch, int x0, int y0, int w, int h, uint32_t v)
{
    long c = 0;
    for (int y = y0; y < y0 + h; y++)
        for (int x = x0; x < x0 + w; x++)
            c += px[(size_t)y * pitch + x] == v;
    return c;
}

/* Fills rings into the rectangle (x0, y0, w, h) of a buffer with a border of 5 pixels around
 * it; returns the filled count and checks that nothing outside the rectangle changed. */
static long fill_count(const viz__paths *r, int x0, int y0, int w, int h)
{
    const int pw = x0 + w + 5, ph = y0 + h + 5;
    uint32_t *px = malloc((size_t)pw * ph * sizeof *px);
    for (int i = 0; i < pw * ph; i++)
        px[i] = BG;
    viz__fill_rings(px, pw, x0, y0, w, h, r, FG);
    const long in = count_px(px, pw, x0, y0, w, h, FG);
    T_EQ(count_px(px, pw, 0, 0, pw, ph, FG), in); /* no pixel outside the rectangle */
    free(px);
    return in;
}

/* Which side of the line a -> b the point p is on (cross product sign). */
static double side(double ax, double ay, double bx, double by, double px, double py)
{
    return (bx - ax) * (py - ay) - (by - ay) * (px - ax);
}

static void test_fill_shapes(void)
{
    /* 360 x 180 map: one pixel per degree, x = lon + 180, y = 90 - lat. */
    { /* rectangle lon [-90, 90] x lat [-45, 45]: its edges fall between pixel centres, so
       * exactly 180 x 90 pixels */
        const float pts[] = {-90, -45, 90, -45, 90, 45, -90, 45, -90, -45};
        const size_t cnt[] = {5};
        viz__paths r = make_rings(pts, cnt, 1);
        T_EQ(fill_count(&r, 7, 3, 360, 180), 180 * 90);
        T_EQ(fill_count(&r, 0, 0, 360, 180), 180 * 90);
        /* at 720 x 360 four times as many; the ring need not be closed explicitly */
        r.n_pts = 4, r.off[1] = 4;
        T_EQ(fill_count(&r, 2, 1, 720, 360), 4 * 180 * 90);
        viz__paths_free(&r);
        T_TRUE(r.pts == NULL && r.off == NULL && r.n == 0 && r.n_pts == 0);
        viz__paths_free(NULL);
    }
    { /* right triangle with pixel-space corners (0, 0), (100, 0), (0, 50): row j (centre
       * y = j + 0.5) spans x in [0, 99 - 2j), so pixels 0 .. 98 - 2j: 99 - 2j of them for
       * j = 0 .. 49, in all 50 * 99 - 2 * 1225 = 2500 (no centre lies on the hypotenuse
       * x + 2y = 100: it would need i + 2j = 98.5). */
        const float pts[] = {-180, 90, -80, 90, -180, 40};
        const size_t cnt[] = {3};
        viz__paths r = make_rings(pts, cnt, 1);
        T_EQ(fill_count(&r, 4, 4, 360, 180), 2500);
        viz__paths_free(&r);
    }
    { /* a slanted triangle against a brute-force test of every pixel centre */
        const float pts[] = {-169.7f, 84.3f, 20.9f, 29.8f, -129.9f, -80.4f};
        const size_t cnt[] = {3};
        viz__paths r = make_rings(pts, cnt, 1);
        long brute = 0;
        double vx[3], vy[3];
        for (int k = 0; k < 3; k++)
            vx[k] = pts[2 * k] + 180.0, vy[k] = 90.0 - pts[2 * k + 1];
        for (int y = 0; y < 180; y++)
            for (int x = 0; x < 360; x++) {
                const double cx = x + 0.5, cy = y + 0.5;
                const double s0 = side(vx[0], vy[0], vx[1], vy[1], cx, cy),
                             s1 = side(vx[1], vy[1], vx[2], vy[2], cx, cy),
                             s2 = side(vx[2], vy[2], vx[0], vy[0], cx, cy);
                T_TRUE(s0 != 0 && s1 != 0 && s2 != 0); /* no centre on an edge: no tie rule */
                brute += (s0 > 0 && s1 > 0 && s2 > 0) || (s0 < 0 && s1 < 0 && s2 < 0);
            }
        T_TRUE(brute > 5000);
        T_EQ(fill_count(&r, 0, 0, 360, 180), brute);
        viz__paths_free(&r);
    }
    { /* even-odd: the rectangle above with a hole lon [-45, 45] x lat [-20, 20] (90 x 40) */
        const float pts[] = {-90, -45, 90,  -45, 90, 45, -90, 45,
                             -45, -20, -45, 20,  45, 20, 45,  -20};
        const size_t cnt[] = {4, 4};
        viz__paths r = make_rings(pts, cnt, 2);
        T_EQ(fill_count(&r, 1, 1, 360, 180), 180 * 90 - 90 * 40);
        viz__paths_free(&r);
    }
    { /* clipping: lon [150, 250] x lat [-10, 10] leaves the map at x = 360 (30 columns), and
       * lat [80, 100] leaves it at the top (10 rows of lon [-10, 10]) */
        const float pts[] = {150, -10, 250, -10, 250, 10,  150, 10,
                             -10, 80,  10,  80,  10,  100, -10, 100};
        const size_t cnt[] = {4, 4};
        viz__paths r = make_rings(pts, cnt, 2);
        T_EQ(fill_count(&r, 3, 2, 360, 180), 30 * 20 + 20 * 10);
        viz__paths_free(&r);
    }
    { /* nothing to do: empty set, zero-sized rectangle */
        viz__paths none = {0};
        T_EQ(fill_count(&none, 0, 0, 10, 10), 0);
        const float pts[] = {-90, -45, 90, -45, 90, 45};
        const size_t cnt[] = {3};
        viz__paths r = make_rings(pts, cnt, 1);
        uint32_t px[4] = {BG, BG, BG, BG};
        viz__fill_rings(px, 2, 0, 0, 0, 2, &r, FG);
        T_EQ(count_px(px, 2, 0, 0, 2, 2, FG), 0);
        viz__paths_free(&r);
    }
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    T_TRUE(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* The error e as main() would print it contains path. */
static void printed_names(const cs_err *e, const char *path)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    cs_err_print(e, m);
    fclose(m);
    T_CONTAINS(buf, path);
    T_STREQ(e->path, path);
    free(buf);
}

static void load_fails(const char *path, int code, const char *msg_part, long line)
{
    viz__paths p = {.n = 99};
    cs_err e;
    cs_err_clear(&e);
    T_EQ(viz__geo_load(path, &p, &e), code);
    T_EQ(e.code, code);
    T_CONTAINS(e.msg, msg_part);
    if (line)
        T_EQ(e.line, line);
    printed_names(&e, path);
    T_TRUE(p.pts == NULL && p.off == NULL && p.n == 0 && p.n_pts == 0);
}

static void test_loader(const char *dir)
{
    char path[600];
    /* geometry types: Point and null skipped; MultiPolygon of 2 polygons (1 + 2 rings),
     * MultiLineString of 2 lines, a LineString, a Polygon: 7 paths */
    snprintf(path, sizeof path, "%s/mixed.geojson", dir);
    write_text(path,
               "{\"type\":\"FeatureCollection\",\"features\":[\n"
               "{\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\",\"coordinates\":[1,2]}},\n"
               "{\"type\":\"Feature\",\"geometry\":null},\n"
               "{\"type\":\"Feature\",\"geometry\":{\"type\":\"MultiPolygon\",\"coordinates\":["
               "[[[0,0],[1,0],[1,1],[0,0]]],"
               "[[[10,10],[20,10],[20,20],[10,10]],[[12,12],[13,12],[13,13]]]]}},\n"
               "{\"type\":\"Feature\",\"geometry\":{\"type\":\"MultiLineString\",\"coordinates\":"
               "[[[0,0],[5,5]],[[1,1],[2,2],[3,3.5,100]]]}},\n"
               "{\"type\":\"Feature\",\"geometry\":{\"type\":\"LineString\",\"coordinates\":"
               "[[-180,-90],[180,90]]}},\n"
               "{\"type\":\"Feature\",\"properties\":{},\"geometry\":{\"type\":\"Polygon\","
               "\"coordinates\":[[[-1,-1],[1,-1],[1,1],[-1,-1]]]}}]}\n");
    viz__paths p;
    cs_err e;
    cs_err_clear(&e);
    T_EQ(viz__geo_load(path, &p, &e), 0);
    T_EQ_U64(p.n, 7);
    T_EQ_U64(p.n_pts, 4 + 4 + 3 + 2 + 3 + 2 + 4);
    const size_t off[] = {0, 4, 8, 11, 13, 16, 18, 22};
    for (size_t k = 0; k <= 7 && p.off; k++)
        T_EQ_U64(p.off[k], off[k]);
    if (p.pts) {
        T_NEAR(p.pts[2 * 15], 3.0, 0); /* the 3-D position keeps lon, lat */
        T_NEAR(p.pts[2 * 15 + 1], 3.5, 0);
        T_NEAR(p.pts[2 * 17], 180.0, 0);
    }
    viz__paths_free(&p);

    /* errors */
    snprintf(path, sizeof path, "%s/missing.geojson", dir);
    load_fails(path, CS_EIO, "cannot open", 0);
    load_fails(dir, CS_EINVAL, "not a regular file", 0);
    snprintf(path, sizeof path, "%s/broken.geojson", dir);
    write_text(path, "{\"type\":\"FeatureCollection\",\n\"features\":[\n{\"type\":,}]}\n");
    load_fails(path, CS_EINVAL, "not valid JSON", 3);
    snprintf(path, sizeof path, "%s/notfc.geojson", dir);
    write_text(path, "{\"type\":\"Feature\",\"geometry\":null}");
    load_fails(path, CS_EINVAL, "not a GeoJSON FeatureCollection", 0);
    snprintf(path, sizeof path, "%s/badcoord.geojson", dir);
    write_text(path, "{\"type\":\"FeatureCollection\",\"features\":["
                     "{\"type\":\"Feature\",\"geometry\":{\"type\":\"LineString\",\"coordinates\":"
                     "[[0,0],[1,1]]}},"
                     "{\"type\":\"Feature\",\"geometry\":{\"type\":\"Polygon\",\"coordinates\":"
                     "[[[0,0],[1,\"x\"],[1,1],[0,0]]]}}]}");
    load_fails(path, CS_EINVAL, "feature 1: ring: position 1 is not [lon, lat] numbers", 0);
    snprintf(path, sizeof path, "%s/range.geojson", dir);
    write_text(path, "{\"type\":\"FeatureCollection\",\"features\":["
                     "{\"type\":\"Feature\",\"geometry\":{\"type\":\"LineString\",\"coordinates\":"
                     "[[0,0],[1,91]]}}]}");
    load_fails(path, CS_EINVAL, "feature 0: line: position 1 [1, 91] is outside", 0);
    snprintf(path, sizeof path, "%s/short.geojson", dir);
    write_text(path, "{\"type\":\"FeatureCollection\",\"features\":["
                     "{\"type\":\"Feature\",\"geometry\":{\"type\":\"Polygon\",\"coordinates\":"
                     "[[[0,0],[1,1]]]}}]}");
    load_fails(path, CS_EINVAL, "feature 0: ring of 2 positions", 0);
    snprintf(path, sizeof path, "%s/nogeom.geojson", dir);
    write_text(path, "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\"}]}");
    load_fails(path, CS_EINVAL, "feature 0: \"geometry\" is missing", 0);
    /* over 64 MiB (a sparse file: no disk used) */
    snprintf(path, sizeof path, "%s/huge.geojson", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    T_TRUE(fd >= 0 && ftruncate(fd, (64 << 20) + 1) == 0);
    if (fd >= 0)
        close(fd);
    load_fails(path, CS_EINVAL, "larger than the 64 MiB", 0);
    /* a FIFO is refused without blocking */
    snprintf(path, sizeof path, "%s/fifo.geojson", dir);
    T_EQ(mkfifo(path, 0644), 0);
    load_fails(path, CS_EINVAL, "not a regular file", 0);
}

static void test_geo_dir(const char *dir)
{
    char buf[600], land[700], coast[700];
    const char *saved_geo = getenv("CONSTSIM_GEO");
    /* $CONSTSIM_GEO comes first when it holds both files; the land file alone is not enough */
    snprintf(land, sizeof land, "%s/ne_110m_land.geojson", dir);
    snprintf(coast, sizeof coast, "%s/ne_110m_coastline.geojson", dir);
    write_text(land, "{}");
    setenv("CONSTSIM_GEO", dir, 1);
    const char *alone = viz__geo_dir(buf, sizeof buf);
    T_TRUE(alone == NULL || strcmp(alone, dir) != 0);
    write_text(coast, "{}");
    T_STREQ(viz__geo_dir(buf, sizeof buf), dir);
    /* a buffer too small for that name skips it (or finds nothing) */
    const char *small = viz__geo_dir(buf, 4);
    T_TRUE(small == NULL || strlen(small) < 4);
    /* without the land file the next candidates are tried */
    unlink(land);
    const char *next = viz__geo_dir(buf, sizeof buf);
    T_TRUE(next == NULL || strcmp(next, dir) != 0);
    unlink(coast);
    if (saved_geo)
        setenv("CONSTSIM_GEO", saved_geo, 1);
    else
        unsetenv("CONSTSIM_GEO");
}

static void test_natural_earth(const char *geo)
{
    char path[700];
    viz__paths land, coast;
    cs_err e;
    cs_err_clear(&e);
    snprintf(path, sizeof path, "%s/ne_110m_land.geojson", geo);
    T_EQ(viz__geo_load(path, &land, &e), 0);
    /* Counted with python3's json module: 127 features, all Polygon, with 128 rings (one has a
     * hole) and 5143 positions. */
    T_EQ_U64(land.n, 128);
    T_EQ_U64(land.n_pts, 5143);
    snprintf(path, sizeof path, "%s/ne_110m_coastline.geojson", geo);
    T_EQ(viz__geo_load(path, &coast, &e), 0);
    /* python3 json: 134 features, all LineString, 5128 positions. */
    T_EQ_U64(coast.n, 134);
    T_EQ_U64(coast.n_pts, 5128);
    viz__paths_free(&coast);

    /* Land fraction of a 720 x 360 equirectangular map against the area on the map computed with
     * python3 (shoelace on lon/lat, the hole subtracted): 21496.951 deg^2 of 64800 =
     * 0.3317431. Sampling at pixel centres misplaces each span end by at most half a pixel;
     * summed with one sign over the 10275-pixel perimeter that bounds the error by 0.0198, but
     * the ends err both ways: 1e-3 (260 pixels) is a twentieth of that bound and about ten times
     * the error seen. */
    const int w = 720, h = 360;
    uint32_t *px = malloc((size_t)w * h * sizeof *px);
    for (int i = 0; i < w * h; i++)
        px[i] = BG;
    viz__fill_rings(px, w, 0, 0, w, h, &land, FG);
    const double frac = (double)count_px(px, w, 0, 0, w, h, FG) / (w * h);
    T_NEAR(frac, 0.3317431, 1e-3);
    fprintf(stderr, "land fraction at 720x360: %.6f (area on the map 0.331743)\n", frac);
    /* Antarctica reaches the south pole: the bottom row is all land; the top row is sea. */
    T_EQ(count_px(px, w, 0, h - 1, w, 1, FG), w);
    T_EQ(count_px(px, w, 0, 0, w, 1, FG), 0);
    free(px);

    /* Speed: the cached background of a 1280 x 720 view is rebuilt on every resize. Best of 5,
     * so that a busy machine does not fail the bound. */
    const int bw = 1280, bh = 720;
    uint32_t *big = malloc((size_t)bw * bh * sizeof *big);
    double best_s = 1e9;
    for (int rep = 0; rep < 5; rep++) {
        for (int i = 0; i < bw * bh; i++)
            big[i] = BG;
        const double t0 = cs_wall_s();
        viz__fill_rings(big, bw, 0, 0, bw, bh, &land, FG);
        best_s = fmin(best_s, cs_wall_s() - t0);
    }
    fprintf(stderr, "fill of the land at 1280x720: best of 5 %.3f ms\n", best_s * 1e3);
    T_TRUE(best_s < 0.050);
    free(big);
    viz__paths_free(&land);
}

int main(void)
{
    test_fill_shapes();

    char dir[] = "/tmp/cs_viz_geo_XXXXXX";
    T_TRUE(mkdtemp(dir) != NULL);
    test_loader(dir);
    test_geo_dir(dir);
    char cmd[64 + sizeof dir];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    T_EQ(system(cmd), 0);

    char geo[600];
    if (!viz__geo_dir(geo, sizeof geo)) {
        fprintf(stderr,
                "no map outlines (ne_110m_land.geojson) in $CONSTSIM_GEO, "
                "$CONSTSIM_SHARED/geo or ../shared/geo: skipping the Natural Earth checks\n");
        int rc = t_done();
        return rc ? rc : 77;
    }
    test_natural_earth(geo);
    return t_done();
}
