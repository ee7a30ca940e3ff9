/* expr.c - the constraint language of sweep configs (see sweep_internal.h).
 * Recursive descent that evaluates as it parses: constraints are a few dozen
 * characters and grids a few thousand points, so there is no tree to build. */
#include "sweep_internal.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *s, *p;
    const fl_sweep *sw;
    const fl_sweep_point *pt;
    const fl_yaml *y;
    const fl_yaml_node *node;
    fl_status st;
} ex;

static double fail(ex *e, const char *what)
{
    if (e->st == FL_OK)
        e->st = fl_yaml_fail(e->y, e->node, "constraint \"%s\": %s at offset %d", e->s, what,
                             (int)(e->p - e->s));
    return 0.0;
}

static void skip(ex *e)
{
    while (isspace((unsigned char)*e->p)) ++e->p;
}

/* Consumes tok when it comes next. */
static int take(ex *e, const char *tok)
{
    skip(e);
    size_t n = strlen(tok);
    if (strncmp(e->p, tok, n)) return 0;
    e->p += n;
    return 1;
}

static double expr_or(ex *e);

static const struct { const char *word; double v; } WORDS[] = {
    {"seq2seq", 0}, {"teacher", 0}, {"seq2seqlite", 1}, {"student", 1},
    {"table", 0}, {"hard", 1}, {"pixel_major", 0}, {"gate_major", 1},
    {"true", 1}, {"false", 0},
};

static double ident(ex *e, const char *name, size_t n)
{
    char buf[64];
    if (n >= sizeof buf) return fail(e, "name too long");
    memcpy(buf, name, n);
    buf[n] = 0;
    const fl_sweep_point *p = e->pt;
    if (!strcmp(buf, "P")) return p->v[FL_AX_LANES];
    if (!strcmp(buf, "T")) return p->v[FL_AX_STEPS];
    if (!strcmp(buf, "H")) return fmax(p->v[FL_AX_ENC_HIDDEN], p->v[FL_AX_DEC_HIDDEN]);
    if (!strcmp(buf, "min") || !strcmp(buf, "max")) {
        if (!take(e, "(")) return fail(e, "expected ( after min/max");
        double a = expr_or(e);
        if (!take(e, ",")) return fail(e, "expected ,");
        double b = expr_or(e);
        if (!take(e, ")")) return fail(e, "expected )");
        return buf[1] == 'i' ? fmin(a, b) : fmax(a, b);
    }
    for (int a = 0; a < FL_AX_COUNT; ++a)
        if (!strcmp(buf, fl_sweep_axis_name((fl_sweep_axis)a))) return p->v[a];
    for (size_t i = 0; i < sizeof WORDS / sizeof WORDS[0]; ++i)
        if (!strcmp(buf, WORDS[i].word)) return WORDS[i].v;
    return fail(e, "unknown name (axes, P, H, T, or an axis value)");
}

static double primary(ex *e)
{
    skip(e);
    const char *p = e->p;
    if (*p == '(') {
        ++e->p;
        double v = expr_or(e);
        if (!take(e, ")")) return fail(e, "expected )");
        return v;
    }
    if (*p == '"') {
        const char *q = strchr(p + 1, '"');
        if (!q) return fail(e, "unterminated string");
        e->p = q + 1;
        for (size_t i = 0; i < e->sw->n_devices; ++i)
            if (strlen(e->sw->devices[i]) == (size_t)(q - p - 1) && !strncmp(e->sw->devices[i], p + 1, (size_t)(q - p - 1)))
                return (double)i;
        return -1.0;   /* a device the grid does not use: equal to none */
    }
    if (isdigit((unsigned char)*p) || *p == '.') {
        char *end;
        double v = strtod(p, &end);
        if (end == p) return fail(e, "bad number");
        e->p = end;
        if (isalpha((unsigned char)*e->p) || *e->p == '(') return v * primary(e);  /* 3H */
        return v;
    }
    if (isalpha((unsigned char)*p) || *p == '_') {
        const char *q = p;
        while (isalnum((unsigned char)*q) || *q == '_') ++q;
        e->p = q;
        return ident(e, p, (size_t)(q - p));
    }
    return fail(e, *p ? "unexpected character" : "unexpected end");
}

static double unary(ex *e)
{
    if (take(e, "-")) return -unary(e);
    skip(e);
    if (e->p[0] == '!' && e->p[1] != '=') {
        ++e->p;
        return unary(e) == 0.0;
    }
    return primary(e);
}

static double mul(ex *e)
{
    double v = unary(e);
    for (;;) {
        if (take(e, "*")) v *= unary(e);
        else if (take(e, "/")) {
            double d = unary(e);
            v = d != 0.0 ? v / d : fail(e, "division by zero");
        } else if (take(e, "%")) {
            double d = unary(e);
            v = d != 0.0 ? fmod(v, d) : fail(e, "division by zero");
        } else return v;
    }
}

static double add(ex *e)
{
    double v = mul(e);
    for (;;) {
        if (take(e, "+")) v += mul(e);
        else if (take(e, "-")) v -= mul(e);
        else return v;
    }
}

static double cmp(ex *e)
{
    double a = add(e);
    if (take(e, "<=") || take(e, "\xe2\x89\xa4")) return a <= add(e);
    if (take(e, ">=") || take(e, "\xe2\x89\xa5")) return a >= add(e);
    if (take(e, "==")) return a == add(e);
    if (take(e, "!=")) return a != add(e);
    if (take(e, "<")) return a < add(e);
    if (take(e, ">")) return a > add(e);
    return a;
}

static double expr_and(ex *e)
{
    double v = cmp(e);
    while (take(e, "&&")) {
        double b = cmp(e);   /* no short circuit: every name is checked */
        v = (v != 0.0) && (b != 0.0);
    }
    return v;
}

static double expr_or(ex *e)
{
    double v = expr_and(e);
    while (take(e, "||")) {
        double b = expr_and(e);
        v = (v != 0.0) || (b != 0.0);
    }
    return v;
}

fl_status sweep_expr_eval(const fl_yaml *y, const fl_yaml_node *node, const char *text,
                          const fl_sweep *s, const fl_sweep_point *p, double *out)
{
    ex e = {.s = text, .p = text, .sw = s, .pt = p, .y = y, .node = node, .st = FL_OK};
    double v = expr_or(&e);
    skip(&e);
    if (e.st == FL_OK && *e.p) fail(&e, "unexpected text");
    if (e.st) return e.st;
    *out = v;
    return FL_OK;
}
