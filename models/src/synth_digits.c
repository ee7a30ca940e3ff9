/* synth_digits.c - digit-like masks, drawn procedurally (MNIST's role).
 *
 * Each digit is a stroke skeleton (polylines and elliptic arcs in a unit box,
 * y pointing down). A random affine map (scale, aspect, shear, rotation,
 * translation) places it in the tile, and a pixel is foreground when its
 * centre lies within half the (random) stroke width of the skeleton: the
 * rasterisation is by distance to the nearest segment, binary by
 * construction. Sizes follow MNIST: the glyph box fills ~20/28 of the tile,
 * strokes are 2-4 pixels wide at 28x28, ~10-30% of the pixels are set.
 */
#include "fligru/synth.h"
#include "fligru/rng.h"

#include <math.h>
#include <string.h>

#define DEG (3.14159265358979324 / 180.0)
#define MAX_SEGS 256
#define ARC_SEGS_PER_TURN 48

typedef struct {
    char   kind;     /* 'L': polyline of n points; 'A': arc; 0: end of glyph    */
    int    n;
    double v[8];     /* L: x0,y0,x1,y1,...; A: cx, cy, rx, ry, a0, a1 (degrees,
                        y down, so 90 points down and 270 up)                   */
} stroke;

static const stroke glyphs[10][4] = {
    /* 0 */ {{'A', 0, {0.5, 0.5, 0.3, 0.45, 0, 360}}},
    /* 1 */ {{'L', 3, {0.33, 0.22, 0.52, 0.05, 0.52, 0.95}}},
    /* 2 */ {{'A', 0, {0.5, 0.3, 0.28, 0.25, 180, 400}},
             {'L', 3, {0.714, 0.461, 0.2, 0.95, 0.82, 0.95}}},
    /* 3 */ {{'A', 0, {0.5, 0.28, 0.27, 0.23, 200, 450}},
             {'A', 0, {0.5, 0.72, 0.3, 0.23, 270, 520}}},
    /* 4 */ {{'L', 4, {0.65, 0.95, 0.65, 0.05, 0.15, 0.68, 0.85, 0.68}}},
    /* 5 */ {{'L', 3, {0.78, 0.05, 0.28, 0.05, 0.25, 0.48}},
             {'A', 0, {0.5, 0.68, 0.3, 0.27, 220, 520}}},
    /* 6 */ {{'A', 0, {0.7, 0.62, 0.45, 0.55, 250, 180}},
             {'A', 0, {0.5, 0.7, 0.25, 0.23, 0, 360}}},
    /* 7 */ {{'L', 3, {0.15, 0.05, 0.85, 0.05, 0.4, 0.95}}},
    /* 8 */ {{'A', 0, {0.5, 0.27, 0.22, 0.22, 0, 360}},
             {'A', 0, {0.5, 0.72, 0.27, 0.23, 0, 360}}},
    /* 9 */ {{'A', 0, {0.5, 0.3, 0.26, 0.24, 0, 360}},
             {'L', 2, {0.76, 0.3, 0.7, 0.95}}},
};

typedef struct { double m[2][2], off[2]; } affine;

static void apply(const affine *A, double x, double y, double *ox, double *oy)
{
    x -= 0.5;
    y -= 0.5;
    *ox = A->m[0][0] * x + A->m[0][1] * y + A->off[0];
    *oy = A->m[1][0] * x + A->m[1][1] * y + A->off[1];
}

/* Draw order is fixed: scale, aspect, shear, rotation, shift x, y, width. */
static double draw_jitter(fl_rng *r, affine *A)
{
    double s  = 0.72 * fl_rng_range(r, 0.85, 1.05);   /* glyph box: ~20/28 of the tile */
    double ax = fl_rng_range(r, 0.8, 1.15);
    double sh = fl_rng_range(r, -0.2, 0.2);
    double th = fl_rng_range(r, -14.0, 14.0) * DEG;
    double tx = fl_rng_range(r, -0.06, 0.06), ty = fl_rng_range(r, -0.06, 0.06);
    double width = fl_rng_range(r, 0.08, 0.14);
    double c = cos(th), sn = sin(th);
    /* M = s * R(th) * [[ax, sh], [0, 1]] */
    A->m[0][0] = s * c * ax;  A->m[0][1] = s * (c * sh - sn);
    A->m[1][0] = s * sn * ax; A->m[1][1] = s * (sn * sh + c);
    A->off[0] = 0.5 + tx;
    A->off[1] = 0.5 + ty;
    return width;
}

static int add_point(double (*pts)[2], int n, const affine *A, double x, double y)
{
    apply(A, x, y, &pts[n][0], &pts[n][1]);
    return n + 1;
}

/* Flattens a stroke into transformed points; returns the count. */
static int stroke_points(const stroke *st, const affine *A, double (*pts)[2])
{
    int n = 0;
    if (st->kind == 'L') {
        for (int i = 0; i < st->n; ++i) n = add_point(pts, n, A, st->v[2 * i], st->v[2 * i + 1]);
        return n;
    }
    double a0 = st->v[4] * DEG, a1 = st->v[5] * DEG;
    int segs = (int)ceil(fabs(st->v[5] - st->v[4]) / 360.0 * ARC_SEGS_PER_TURN);
    if (segs < 2) segs = 2;
    for (int i = 0; i <= segs; ++i) {
        double a = a0 + (a1 - a0) * i / segs;
        n = add_point(pts, n, A, st->v[0] + st->v[2] * cos(a), st->v[1] + st->v[3] * sin(a));
    }
    return n;
}

static double seg_dist2(double px, double py, const double p[2], const double q[2])
{
    double dx = q[0] - p[0], dy = q[1] - p[1];
    double len2 = dx * dx + dy * dy;
    double t = len2 > 0.0 ? ((px - p[0]) * dx + (py - p[1]) * dy) / len2 : 0.0;
    t = t < 0.0 ? 0.0 : t > 1.0 ? 1.0 : t;
    double ex = p[0] + t * dx - px, ey = p[1] + t * dy - py;
    return ex * ex + ey * ey;
}

size_t fl_synth_digit(int d, int size, uint64_t seed, uint64_t stream, uint8_t *mask)
{
    if (d < 0 || d > 9 || size < 1) return 0;
    fl_rng r;
    fl_rng_init(&r, seed, stream);
    affine A;
    double half = 0.5 * draw_jitter(&r, &A);

    double seg[MAX_SEGS][2][2];
    int nseg = 0;
    for (const stroke *st = glyphs[d]; st < glyphs[d] + 4 && st->kind; ++st) {
        double pts[ARC_SEGS_PER_TURN * 2 + 2][2];
        int n = stroke_points(st, &A, pts);
        for (int i = 0; i + 1 < n && nseg < MAX_SEGS; ++i, ++nseg) {
            memcpy(seg[nseg][0], pts[i], sizeof pts[i]);
            memcpy(seg[nseg][1], pts[i + 1], sizeof pts[i]);
        }
    }

    size_t fg = 0;
    for (int y = 0; y < size; ++y)
        for (int x = 0; x < size; ++x) {
            double px = (x + 0.5) / size, py = (y + 0.5) / size;
            uint8_t on = 0;
            for (int k = 0; k < nseg && !on; ++k)
                on = seg_dist2(px, py, seg[k][0], seg[k][1]) <= half * half;
            mask[(size_t)y * size + x] = on;
            fg += on;
        }
    return fg;
}
