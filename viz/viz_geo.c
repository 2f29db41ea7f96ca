/* viz_geo.c - map outlines: GeoJSON (Natural Earth) into lon/lat paths, and the even-odd
 * scanline fill that paints polygon rings into an equirectangular map. */
#include "viz_internal.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define GEO_MAX_BYTES (64u << 20)
#define GEO_LAND_FILE "ne_110m_land.geojson"
#define GEO_COAST_FILE "ne_110m_coastline.geojson"

void viz__paths_free(viz__paths *p)
{
    if (!p)
        return;
    free(p->pts);
    free(p->off);
    memset(p, 0, sizeof *p);
}

/* ---- reading ------------------------------------------------------------------------------ */

/* The whole of a regular file of at most GEO_MAX_BYTES, NUL-terminated, into *text (malloc'd).
 * One descriptor for the checks and the read; O_NONBLOCK so that a FIFO cannot block the open. */
static int read_regular(const char *path, char **text, size_t *len, cs_err *err)
{
    *text = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return cs_err_set(err, CS_EIO, path, 0, 0, "cannot open: %s", strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int rc = cs_err_set(err, CS_EIO, path, 0, 0, "cannot stat: %s", strerror(errno));
        close(fd);
        return rc;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return cs_err_set(err, CS_EINVAL, path, 0, 0, "not a regular file%s",
                          S_ISDIR(st.st_mode) ? " (a directory)" : "");
    }
    if (st.st_size < 0 || (unsigned long long)st.st_size > GEO_MAX_BYTES) {
        close(fd);
        return cs_err_set(err, CS_EINVAL, path, 0, 0,
                          "%lld bytes: larger than the %u MiB allowed for map outlines",
                          (long long)st.st_size, GEO_MAX_BYTES >> 20);
    }
    const size_t size = (size_t)st.st_size;
    char *buf = malloc(size + 1);
    if (!buf) {
        close(fd);
        return cs_err_set(err, CS_ENOMEM, path, 0, 0, "out of memory (%zu bytes)", size + 1);
    }
    size_t n = 0;
    for (;;) {
        /* one byte beyond the size seen by fstat detects a file that grew meanwhile */
        ssize_t r = read(fd, buf + n, size + 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int rc = cs_err_set(err, CS_EIO, path, 0, 0, "read failed: %s", strerror(errno));
            free(buf);
            close(fd);
            return rc;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n > size) {
            free(buf);
            close(fd);
            return cs_err_set(err, CS_EIO, path, 0, 0, "the file grew while it was being read");
        }
    }
    close(fd);
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return 0;
}

/* 1-based line and column of byte offset off in text. */
static void line_col(const char *text, size_t off, long *line, long *col)
{
    long l = 1, c = 1;
    for (size_t i = 0; i < off; i++) {
        if (text[i] == '\n')
            l++, c = 1;
        else
            c++;
    }
    *line = l;
    *col = c;
}

/* Two passes over the same tree: the first (out == NULL) validates and counts, the second fills
 * the arrays sized by the first. */
typedef struct geo_walk {
    const char *path;
    viz__paths *out; /* borrowed; NULL while counting */
    size_t n_pts, n; /* points and paths so far */
    size_t feature;  /* index of the feature being read (for messages) */
    cs_err *err;
} geo_walk;

static int bad(geo_walk *g, const char *what)
{
    return cs_err_set(g->err, CS_EINVAL, g->path, 0, 0, "feature %zu: %s", g->feature, what);
}

/* One path: an array of at least min_pts positions. */
static int walk_path(geo_walk *g, const cJSON *line, int min_pts, const char *what)
{
    if (!cJSON_IsArray(line))
        return cs_err_set(g->err, CS_EINVAL, g->path, 0, 0,
                          "feature %zu: %s: expected an array of positions", g->feature, what);
    const int np = cJSON_GetArraySize(line);
    if (np < min_pts)
        return cs_err_set(g->err, CS_EINVAL, g->path, 0, 0,
                          "feature %zu: %s of %d positions (at least %d needed)", g->feature, what,
                          np, min_pts);
    int k = 0;
    const cJSON *pos;
    cJSON_ArrayForEach(pos, line)
    {
        const cJSON *lon = cJSON_IsArray(pos) ? cJSON_GetArrayItem(pos, 0) : NULL;
        const cJSON *lat = cJSON_IsArray(pos) ? cJSON_GetArrayItem(pos, 1) : NULL;
        if (!cJSON_IsNumber(lon) || !cJSON_IsNumber(lat))
            return cs_err_set(g->err, CS_EINVAL, g->path, 0, 0,
                              "feature %zu: %s: position %d is not [lon, lat] numbers", g->feature,
                              what, k);
        const double lon_deg = lon->valuedouble, lat_deg = lat->valuedouble;
        if (!(fabs(lon_deg) <= 180.0) || !(fabs(lat_deg) <= 90.0))
            return cs_err_set(g->err, CS_EINVAL, g->path, 0, 0,
                              "feature %zu: %s: position %d [%g, %g] is outside [-180, 180] x "
                              "[-90, 90]",
                              g->feature, what, k, lon_deg, lat_deg);
        if (g->out) {
            g->out->pts[2 * g->n_pts] = (float)lon_deg;
            g->out->pts[2 * g->n_pts + 1] = (float)lat_deg;
        }
        g->n_pts++;
        k++;
    }
    g->n++;
    if (g->out)
        g->out->off[g->n] = g->n_pts;
    return 0;
}

/* An array of paths (a polygon's rings, a MultiLineString's lines). */
static int walk_paths(geo_walk *g, const cJSON *arr, int min_pts, const char *what)
{
    if (!cJSON_IsArray(arr))
        return cs_err_set(g->err, CS_EINVAL, g->path, 0, 0, "feature %zu: expected an array of %ss",
                          g->feature, what);
    const cJSON *p;
    cJSON_ArrayForEach(p, arr)
    {
        int rc = walk_path(g, p, min_pts, what);
        if (rc)
            return rc;
    }
    return 0;
}

static int walk_geometry(geo_walk *g, const cJSON *geom)
{
    if (cJSON_IsNull(geom))
        return 0; /* GeoJSON allows features without a place */
    if (!cJSON_IsObject(geom))
        return bad(g, "\"geometry\" is missing or not an object");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(geom, "type");
    if (!cJSON_IsString(type))
        return bad(g, "geometry has no \"type\" string");
    const char *t = type->valuestring;
    const int polygon = strcmp(t, "Polygon") == 0, multipolygon = strcmp(t, "MultiPolygon") == 0;
    const int line = strcmp(t, "LineString") == 0, multiline = strcmp(t, "MultiLineString") == 0;
    if (!polygon && !multipolygon && !line && !multiline)
        return 0; /* Point, MultiPoint, GeometryCollection: nothing to outline */
    const cJSON *co = cJSON_GetObjectItemCaseSensitive(geom, "coordinates");
    if (!cJSON_IsArray(co))
        return bad(g, "geometry has no \"coordinates\" array");
    if (line)
        return walk_path(g, co, 2, "line");
    if (multiline || polygon)
        return walk_paths(g, co, multiline ? 2 : 3, multiline ? "line" : "ring");
    const cJSON *poly;
    cJSON_ArrayForEach(poly, co)
    {
        int rc = walk_paths(g, poly, 3, "ring");
        if (rc)
            return rc;
    }
    return 0;
}

static int walk_features(geo_walk *g, const cJSON *features)
{
    g->n_pts = g->n = 0;
    g->feature = 0;
    const cJSON *f;
    cJSON_ArrayForEach(f, features)
    {
        if (!cJSON_IsObject(f))
            return bad(g, "not an object");
        int rc = walk_geometry(g, cJSON_GetObjectItemCaseSensitive(f, "geometry"));
        if (rc)
            return rc;
        g->feature++;
    }
    return 0;
}

int viz__geo_load(const char *path, viz__paths *out, cs_err *err)
{
    memset(out, 0, sizeof *out);
    char *text;
    size_t len;
    int rc = read_regular(path, &text, &len, err);
    if (rc)
        return rc;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!root) {
        long line = 0, col = 0;
        if (end && end >= text && end <= text + len)
            line_col(text, (size_t)(end - text), &line, &col);
        free(text);
        return cs_err_set(err, CS_EINVAL, path, line, col, "not valid JSON");
    }
    free(text);

    const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "type");
    const cJSON *features = cJSON_GetObjectItemCaseSensitive(root, "features");
    geo_walk g = {.path = path, .err = err};
    if (!cJSON_IsString(type) || strcmp(type->valuestring, "FeatureCollection") != 0 ||
        !cJSON_IsArray(features)) {
        rc = cs_err_set(err, CS_EINVAL, path, 0, 0,
                        "not a GeoJSON FeatureCollection (a \"type\": \"FeatureCollection\" "
                        "object with a \"features\" array)");
        goto done;
    }
    rc = walk_features(&g, features);
    if (rc)
        goto done;

    size_t pts_bytes, off_bytes;
    if (cs_size_mul(g.n_pts, 2 * sizeof(float), &pts_bytes) ||
        cs_size_mul(g.n + 1, sizeof(size_t), &off_bytes)) {
        rc = cs_err_set(err, CS_ENOMEM, path, 0, 0, "%zu points: size overflow", g.n_pts);
        goto done;
    }
    out->pts = malloc(pts_bytes ? pts_bytes : 1);
    out->off = malloc(off_bytes);
    if (!out->pts || !out->off) {
        viz__paths_free(out);
        rc = cs_err_set(err, CS_ENOMEM, path, 0, 0, "out of memory (%zu points)", g.n_pts);
        goto done;
    }
    out->off[0] = 0;
    g.out = out;
    rc = walk_features(&g, features); /* cannot fail: the same tree passed the first walk */
    CS_ASSERT(rc == 0);
    out->n_pts = g.n_pts;
    out->n = g.n;
done:
    cJSON_Delete(root);
    return rc;
}

static int has_file(const char *dir, const char *name)
{
    char file[4096];
    struct stat st;
    int n = snprintf(file, sizeof file, "%s/%s", dir, name);
    return n > 0 && (size_t)n < sizeof file && stat(file, &st) == 0 && S_ISREG(st.st_mode);
}

const char *viz__geo_dir(char *buf, size_t cap)
{
    char cand[3][4096];
    int n_cand = 0;
    const char *geo = getenv("CONSTSIM_GEO"), *shared = getenv("CONSTSIM_SHARED");
    if (geo && *geo && strlen(geo) < sizeof cand[0])
        snprintf(cand[n_cand++], sizeof cand[0], "%s", geo);
    if (shared && *shared && strlen(shared) + 4 < sizeof cand[0])
        snprintf(cand[n_cand++], sizeof cand[0], "%s/geo", shared);
    snprintf(cand[n_cand++], sizeof cand[0], "../shared/geo");
    for (int i = 0; i < n_cand; i++) {
        if (strlen(cand[i]) < cap && has_file(cand[i], GEO_LAND_FILE) &&
            has_file(cand[i], GEO_COAST_FILE)) {
            memcpy(buf, cand[i], strlen(cand[i]) + 1);
            return buf;
        }
    }
    return NULL;
}

/* ---- filling ------------------------------------------------------------------------------ */

/* A non-horizontal edge in the rectangle's pixel coordinates, crossing the sample rows
 * [j0, j1) (row j samples y = j + 0.5): x(j) = x_top + (j + 0.5 - y_top) * dxdy. */
typedef struct fill_edge {
    double x_top, y_top, dxdy;
    double x; /* at the current row */
    int j0, j1;
} fill_edge;

/* The first pixel whose centre (index + 0.5) is at or past v, clamped to [0, n]; NaN gives 0
 * (no undefined float-to-int conversion even for points that are not finite). */
static int first_centre(double v, int n)
{
    const double r = ceil(v - 0.5);
    return !(r > 0) ? 0 : r >= n ? n : (int)r;
}

void viz__fill_rings(uint32_t *px, int pitch_px, int x0, int y0, int w, int h,
                     const viz__paths *rings, uint32_t argb)
{
    if (!px || !rings || w <= 0 || h <= 0 || rings->n == 0 || rings->n_pts == 0)
        return;
    /* one block: edges[n_pts], edges ordered by first row (order[n_pts]), the active list
     * (active[n_pts]) and the counting sort's row starts (start[h + 2]) */
    const size_t ne_max = rings->n_pts;
    size_t b_edges, b_idx, b_start;
    if (ne_max > UINT32_MAX || cs_size_mul(ne_max, sizeof(fill_edge), &b_edges) ||
        cs_size_mul(ne_max, 2 * sizeof(uint32_t), &b_idx) ||
        cs_size_mul((size_t)h + 2, sizeof(uint32_t), &b_start) ||
        b_edges + b_idx > SIZE_MAX - b_start)
        return;
    fill_edge *e = malloc(b_edges + b_idx + b_start);
    if (!e)
        return;
    uint32_t *order = (uint32_t *)(void *)((char *)e + b_edges);
    uint32_t *active = order + ne_max;
    uint32_t *start = active + ne_max;

    const double sx = w / 360.0, sy = h / 180.0;
    uint32_t ne = 0;
    for (size_t k = 0; k < rings->n; k++) {
        const size_t a = rings->off[k], b = rings->off[k + 1];
        if (b - a < 2)
            continue;
        for (size_t i = a; i < b; i++) {
            const size_t i2 = i + 1 < b ? i + 1 : a; /* the closing edge back to the first */
            double xa = (rings->pts[2 * i] + 180.0) * sx, ya = (90.0 - rings->pts[2 * i + 1]) * sy;
            double xb = (rings->pts[2 * i2] + 180.0) * sx,
                   yb = (90.0 - rings->pts[2 * i2 + 1]) * sy;
            if (ya == yb)
                continue; /* horizontal: never crossed by a sample row */
            if (ya > yb) {
                double t = xa;
                xa = xb, xb = t;
                t = ya;
                ya = yb, yb = t;
            }
            const int j0 = first_centre(ya, h), j1 = first_centre(yb, h);
            if (j0 >= j1)
                continue;
            e[ne] = (fill_edge){
                .x_top = xa, .y_top = ya, .dxdy = (xb - xa) / (yb - ya), .j0 = j0, .j1 = j1};
            ne++;
        }
    }
    /* counting sort of the edges by first row */
    memset(start, 0, b_start);
    for (uint32_t i = 0; i < ne; i++)
        start[e[i].j0 + 1]++;
    for (int j = 0; j <= h; j++)
        start[j + 1] += start[j];
    for (uint32_t i = 0; i < ne; i++)
        order[start[e[i].j0]++] = i;

    uint32_t n_active = 0, next = 0;
    for (int j = 0; j < h; j++) {
        while (next < ne && e[order[next]].j0 == j)
            active[n_active++] = order[next++];
        /* drop the edges that ended, place the others on this row */
        uint32_t m = 0;
        const double yc = j + 0.5;
        for (uint32_t i = 0; i < n_active; i++) {
            fill_edge *ed = &e[active[i]];
            if (ed->j1 <= j)
                continue;
            ed->x = ed->x_top + (yc - ed->y_top) * ed->dxdy;
            active[m++] = active[i];
        }
        n_active = m;
        /* insertion sort by x: the order changes little from one row to the next */
        for (uint32_t i = 1; i < n_active; i++) {
            const uint32_t v = active[i];
            const double xv = e[v].x;
            uint32_t k = i;
            while (k > 0 && e[active[k - 1]].x > xv) {
                active[k] = active[k - 1];
                k--;
            }
            active[k] = v;
        }
        uint32_t *row = px + (size_t)(y0 + j) * (size_t)pitch_px + x0;
        for (uint32_t i = 0; i + 1 < n_active; i += 2) {
            /* pixels whose centre i + 0.5 lies in [xl, xr) */
            const int il = first_centre(e[active[i]].x, w),
                      ir = first_centre(e[active[i + 1]].x, w);
            for (int x = il; x < ir; x++)
                row[x] = argb;
        }
    }
    free(e);
}
