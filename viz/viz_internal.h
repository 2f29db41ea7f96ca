/* viz_internal.h - internals of the viz module (prefix viz__): map outlines from GeoJSON, the
 * scanline fill that paints them into an ARGB8888 buffer, and the PNG writer for screenshots.
 * Nothing here touches SDL: these pieces are testable without a display.
 *
 * Coordinates are longitude/latitude in degrees (WGS-84 as Natural Earth gives them); maps are
 * equirectangular: in a pixel rectangle (x0, y0, w, h),
 *   x = x0 + (lon_deg + 180) / 360 * w,   y = y0 + (90 - lat_deg) / 180 * h.
 * Library code: never prints, never exits; errors return a negative CS_E* code and fill cs_err.
 */
#ifndef VIZ_INTERNAL_H
#define VIZ_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "cs.h"
#include "viz.h"

/* ---- outlines ----------------------------------------------------------------------------- */
typedef struct viz__paths { /* polylines / polygon rings in lon/lat degrees */
    float *pts;             /* owned: n_pts (lon_deg, lat_deg) pairs */
    size_t n_pts;
    size_t *off; /* owned: n + 1 offsets into pts (in points); path k is [off[k], off[k+1]) */
    size_t n;    /* paths */
} viz__paths;

/* Frees p's arrays and zeroes p; p may be NULL. */
void viz__paths_free(viz__paths *p);

/* Reads a GeoJSON FeatureCollection into *out (zeroed first; free with viz__paths_free). Every
 * ring of a Polygon or MultiPolygon and every line of a LineString or MultiLineString becomes
 * one path, in file order; other geometry types and null geometries are skipped. Rings need at
 * least 3 positions (closing them is not required: the fill closes every ring), lines 2. A
 * position is [lon, lat, ...] with finite numbers, |lon| <= 180 and |lat| <= 90.
 * Errors (out stays empty): CS_EIO when path cannot be opened or read; CS_EINVAL when it is not
 * a regular file, is larger than 64 MiB, is not JSON (with line and column), is not a
 * FeatureCollection, or a feature is malformed (the message names the feature index, from 0);
 * CS_ENOMEM. err->path is path. */
int viz__geo_load(const char *path, viz__paths *out, cs_err *err);

/* The folder of the map outlines: the first of $CONSTSIM_GEO, $CONSTSIM_SHARED/geo and
 * ../shared/geo (relative to the working directory) that holds both regular files
 * ne_110m_land.geojson and ne_110m_coastline.geojson. Returns buf holding that folder, or NULL when none does (or the folder's
 * name does not fit in cap bytes). */
const char *viz__geo_dir(char *buf, size_t cap);

/* ---- drawing ------------------------------------------------------------------------------ */
/* Paints argb into every pixel of the rectangle (x0, y0, w, h) of px (pitch_px pixels per row)
 * whose centre lies inside the rings, even-odd rule (holes and overlaps cancel), rings projected
 * equirectangularly onto the rectangle (above) and closed implicitly. A pixel centre exactly on
 * an edge counts as inside when the edge is its left or top boundary. Writes only inside the
 * rectangle, which must lie inside px. Points must be finite (as viz__geo_load's are); points
 * off the map are fine (clipped). One allocation for the edge table (sized by the number of
 * points and h); if it fails, nothing is painted. */
void viz__fill_rings(uint32_t *px, int pitch_px, int x0, int y0, int w, int h,
                     const viz__paths *rings, uint32_t argb);

/* ---- screenshots -------------------------------------------------------------------------- */
/* Writes the w x h pixels of argb (0xAARRGGBB, pitch_px pixels per row) as an 8-bit RGB PNG
 * (alpha dropped; non-interlaced; rows filtered with None, Sub or Up, whichever is smallest) to
 * path, atomically, creating its folder (cs_write_file_in_dir). Requires w, h >= 1 and
 * pitch_px >= w (else CS_EINVAL). CS_EIO/CS_ENOMEM errors name path. */
int viz__png_write(const char *path, const uint32_t *argb, int w, int h, int pitch_px, cs_err *err);

/* ---- status ----------------------------------------------------------------------------- */
/* Appends (t_s, acc) to r's accuracy curve and counts the round done. */
int viz__run_curve_push(viz_run *r, double t_s, double acc, cs_err *err);

/* ---- text: a glyph atlas of printable ASCII from one TTF font (viz_text.c) ------------------ */
struct SDL_Renderer;
typedef struct viz__font viz__font;
viz__font *viz__font_open(struct SDL_Renderer *rd, const char *path, int px, cs_err *err);
void viz__font_close(viz__font *f);
int viz__font_height(const viz__font *f);
int viz__text_width(const viz__font *f, const char *s);
/* Draws s with its top-left at (x, y) in colour argb; returns the x after it. */
int viz__text(viz__font *f, int x, int y, uint32_t argb, const char *s);

#endif
