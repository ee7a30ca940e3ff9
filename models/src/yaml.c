/* yaml.c - YAML config files as a line-numbered tree (libyaml event parser). */
#include "fligru/yaml.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

struct fl_yaml {
    char *file;
    fl_yaml_node *root;
};

/* ---- tree building ----------------------------------------------------- */

static void node_free(fl_yaml_node *n)
{
    if (!n) return;
    for (size_t i = 0; i < n->n; ++i) {
        node_free(n->items[i]);
        if (n->keys) free(n->keys[i]);
    }
    free(n->items);
    free(n->keys);
    free(n->key_lines);
    free((char *)n->name);
    free(n->value);
    free(n);
}

static fl_yaml_node *node_new(fl_yaml_kind k, int line)
{
    fl_yaml_node *n = calloc(1, sizeof *n);
    if (n) {
        n->kind = k;
        n->line = line;
    }
    return n;
}

/* Grows an array of n elements for element n: capacity doubles at each power of
 * two, so a map or list of a million items costs O(n) copying, not O(n^2). */
static int grow(void **arr, size_t n, size_t elem)
{
    if (n != 0 && (n & (n - 1)) != 0) return 0;
    void *p = realloc(*arr, (n ? 2 * n : 1) * elem);
    if (!p) return -1;
    *arr = p;
    return 0;
}

static int node_push(fl_yaml_node *parent, fl_yaml_node *child, char *key, int key_line)
{
    size_t i = parent->n;
    if (grow((void **)&parent->items, i, sizeof *parent->items)) return -1;
    if (parent->kind == FL_YAML_MAP) {
        if (grow((void **)&parent->keys, i, sizeof *parent->keys) ||
            grow((void **)&parent->key_lines, i, sizeof *parent->key_lines))
            return -1;
        parent->keys[i] = key;
        parent->key_lines[i] = key_line;
    }
    parent->items[i] = child;
    child->parent = parent;
    if (parent->kind == FL_YAML_MAP) {
        child->name = strdup(key);
    } else {
        char buf[32];
        snprintf(buf, sizeof buf, "[%zu]", i);
        child->name = strdup(buf);
    }
    parent->n = i + 1;
    return child->name ? 0 : -1;
}

/* ---- duplicate keys: a hash set of key indices per map ------------------- */

/* Open addressing, load factor at most 1/2. A linear scan of the keys seen so
 * far made a config of 40k keys take 13 s (issue 13). */
typedef struct {
    size_t *slot;   /* key index + 1; 0 = empty */
    size_t  cap;    /* power of two */
} keyset;

static size_t key_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;   /* FNV-1a */
    for (; *s; ++s) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return (size_t)h;
}

/* Index of key among keys[] (as recorded in ks), or -1 when absent. */
static long keyset_find(const keyset *ks, char *const *keys, const char *key)
{
    if (!ks->cap) return -1;
    for (size_t i = key_hash(key) & (ks->cap - 1);; i = (i + 1) & (ks->cap - 1)) {
        if (!ks->slot[i]) return -1;
        if (!strcmp(keys[ks->slot[i] - 1], key)) return (long)(ks->slot[i] - 1);
    }
}

static void keyset_put(keyset *ks, char *const *keys, size_t idx)
{
    size_t i = key_hash(keys[idx]) & (ks->cap - 1);
    while (ks->slot[i]) i = (i + 1) & (ks->cap - 1);
    ks->slot[i] = idx + 1;
}

/* Records keys[n-1], rehashing when the table is half full. */
static int keyset_add(keyset *ks, char *const *keys, size_t n)
{
    if (2 * n > ks->cap) {
        size_t cap = ks->cap ? 2 * ks->cap : 16;
        size_t *s = calloc(cap, sizeof *s);
        if (!s) return -1;
        free(ks->slot);
        ks->slot = s;
        ks->cap = cap;
        for (size_t k = 0; k + 1 < n; ++k) keyset_put(ks, keys, k);
    }
    keyset_put(ks, keys, n - 1);
    return 0;
}

typedef struct {
    yaml_parser_t p;
    const char *file;
    int depth;      /* open maps and lists around the node being parsed */
} parse_ctx;

static fl_status parse_error(parse_ctx *c)
{
    return fl_fail(FL_E_INPUT, "%s:%zu: malformed YAML: %s%s%s", c->file,
                   c->p.problem_mark.line + 1, c->p.problem ? c->p.problem : "syntax error",
                   c->p.context ? " " : "", c->p.context ? c->p.context : "");
}

/* Parses one node whose first event is ev (consumed by the caller). */
static fl_status parse_node(parse_ctx *c, yaml_event_t *ev, fl_yaml_node **out);

/* Reads a map key (a plain scalar, not yet in the map) and the value's first event. */
static fl_status parse_key(parse_ctx *c, fl_yaml_node *n, const keyset *ks, yaml_event_t *ev, char **key)
{
    int key_line = (int)ev->start_mark.line + 1;
    if (ev->type != YAML_SCALAR_EVENT) {
        yaml_event_delete(ev);
        return fl_fail(FL_E_INPUT, "%s:%d: keys must be plain scalars", c->file, key_line);
    }
    *key = strdup((const char *)ev->data.scalar.value);
    yaml_event_delete(ev);
    if (!*key) return fl_fail(FL_E_NOMEM, "%s: out of memory", c->file);
    long first = keyset_find(ks, n->keys, *key);
    fl_status st = FL_OK;
    if (first >= 0)
        st = fl_fail(FL_E_INPUT, "%s:%d: %s: key given twice (first on line %d)", c->file, key_line, *key,
                     n->key_lines[first]);
    else if (!yaml_parser_parse(&c->p, ev))
        st = parse_error(c);
    if (st) {
        free(*key);
        *key = NULL;
    }
    return st;
}

static fl_status parse_children(parse_ctx *c, fl_yaml_node *n, yaml_event_type_t end)
{
    keyset ks = {NULL, 0};
    fl_status st = FL_OK;
    while (!st) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&c->p, &ev)) {
            st = parse_error(c);
            break;
        }
        if (ev.type == end) {
            yaml_event_delete(&ev);
            break;
        }
        char *key = NULL;
        int key_line = (int)ev.start_mark.line + 1;
        if (n->kind == FL_YAML_MAP && (st = parse_key(c, n, &ks, &ev, &key))) break;
        fl_yaml_node *child = NULL;
        if ((st = parse_node(c, &ev, &child))) {
            free(key);
        } else if (node_push(n, child, key, key_line) != 0 ||
                   (key && keyset_add(&ks, n->keys, n->n) != 0)) {
            /* once pushed, child and key belong to n (freed with it) */
            if (n->n == 0 || n->items[n->n - 1] != child) {
                node_free(child);
                free(key);
            }
            st = fl_fail(FL_E_NOMEM, "%s: out of memory", c->file);
        }
    }
    free(ks.slot);
    return st;
}

/* Maps and lists nest at most FL_YAML_MAX_DEPTH deep: no config means more, and
 * the tree is built and freed recursively (40,000 '[' crashed the stack). */
static fl_status parse_collection(parse_ctx *c, yaml_event_t *ev, fl_yaml_node **out)
{
    int line = (int)ev->start_mark.line + 1;
    int map = ev->type == YAML_MAPPING_START_EVENT;
    yaml_event_delete(ev);
    if (c->depth >= FL_YAML_MAX_DEPTH)
        return fl_fail(FL_E_INPUT, "%s:%d: nested deeper than %d levels of maps and lists", c->file, line,
                       FL_YAML_MAX_DEPTH);
    fl_yaml_node *n = node_new(map ? FL_YAML_MAP : FL_YAML_SEQ, line);
    if (!n) return fl_fail(FL_E_NOMEM, "%s: out of memory", c->file);
    ++c->depth;
    fl_status st = parse_children(c, n, map ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT);
    --c->depth;
    if (st) {
        node_free(n);
        return st;
    }
    *out = n;
    return FL_OK;
}

static fl_status parse_node(parse_ctx *c, yaml_event_t *ev, fl_yaml_node **out)
{
    int line = (int)ev->start_mark.line + 1;
    fl_yaml_node *n = NULL;
    fl_status st = FL_OK;
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        n = node_new(FL_YAML_SCALAR, line);
        if (n) {
            n->value = strdup((const char *)ev->data.scalar.value);
            n->quoted = ev->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                        ev->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
        }
        yaml_event_delete(ev);
        if (!n || !n->value) st = fl_fail(FL_E_NOMEM, "%s: out of memory", c->file);
        break;
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        return parse_collection(c, ev, out);
    case YAML_ALIAS_EVENT:
        yaml_event_delete(ev);
        return fl_fail(FL_E_INPUT, "%s:%d: YAML aliases (*name) are not supported in configs",
                       c->file, line);
    default:
        yaml_event_delete(ev);
        return fl_fail(FL_E_INPUT, "%s:%d: unexpected YAML structure", c->file, line);
    }
    if (st) {
        node_free(n);
        return st;
    }
    *out = n;
    return FL_OK;
}

/* Skips stream/document start; returns the root (an empty map for an empty file). */
static fl_status parse_root(parse_ctx *c, fl_yaml_node **root)
{
    yaml_event_t ev;
    for (;;) {
        if (!yaml_parser_parse(&c->p, &ev)) return parse_error(c);
        if (ev.type == YAML_STREAM_START_EVENT || ev.type == YAML_DOCUMENT_START_EVENT) {
            yaml_event_delete(&ev);
            continue;
        }
        break;
    }
    if (ev.type == YAML_STREAM_END_EVENT) {
        yaml_event_delete(&ev);
        *root = node_new(FL_YAML_MAP, 1);
        return *root ? FL_OK : fl_fail(FL_E_NOMEM, "%s: out of memory", c->file);
    }
    int line = (int)ev.start_mark.line + 1;
    if (ev.type != YAML_MAPPING_START_EVENT) {
        yaml_event_delete(&ev);
        return fl_fail(FL_E_INPUT, "%s:%d: a config must be a mapping of keys to values", c->file, line);
    }
    fl_status st = parse_node(c, &ev, root);
    if (st) return st;
    /* A second document would be silently ignored: refuse it instead. */
    if (!yaml_parser_parse(&c->p, &ev)) return parse_error(c);
    if (ev.type == YAML_DOCUMENT_END_EVENT) {
        yaml_event_delete(&ev);
        if (!yaml_parser_parse(&c->p, &ev)) return parse_error(c);
    }
    int extra = ev.type != YAML_STREAM_END_EVENT;
    line = (int)ev.start_mark.line + 1;
    yaml_event_delete(&ev);
    if (extra) return fl_fail(FL_E_INPUT, "%s:%d: only one YAML document per config", c->file, line);
    return FL_OK;
}

fl_status fl_yaml_parse(const char *text, size_t len, const char *name, fl_yaml **out)
{
    *out = NULL;
    fl_yaml *y = calloc(1, sizeof *y);
    if (!y || !(y->file = strdup(name))) {
        free(y);
        return fl_fail(FL_E_NOMEM, "%s: out of memory", name);
    }
    parse_ctx c = {.file = y->file};
    if (!yaml_parser_initialize(&c.p)) {
        fl_yaml_free(y);
        return fl_fail(FL_E_NOMEM, "%s: cannot initialise the YAML parser", name);
    }
    yaml_parser_set_input_string(&c.p, (const unsigned char *)text, len);
    fl_status st = parse_root(&c, &y->root);
    yaml_parser_delete(&c.p);
    if (st) {
        fl_yaml_free(y);
        return st;
    }
    *out = y;
    return FL_OK;
}

fl_status fl_yaml_load(const char *path, fl_yaml **out)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return fl_fail(FL_E_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t r;
    while (buf && (r = fread(buf + len, 1, cap - len, f)) > 0) {
        len += r;
        if (len == cap) {
            char *nb = cap < (64u << 20) ? realloc(buf, cap *= 2) : NULL;
            if (!nb) free(buf);
            buf = nb;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf) return fl_fail(FL_E_INPUT, "%s: config too large or out of memory", path);
    if (bad) {
        free(buf);
        return fl_fail(FL_E_IO, "%s: read error", path);
    }
    fl_status st = fl_yaml_parse(buf, len, path, out);
    free(buf);
    return st;
}

void fl_yaml_free(fl_yaml *y)
{
    if (!y) return;
    node_free(y->root);
    free(y->file);
    free(y);
}

const fl_yaml_node *fl_yaml_root(const fl_yaml *y) { return y->root; }
const char *fl_yaml_file(const fl_yaml *y) { return y->file; }

/* ---- messages ---------------------------------------------------------- */

void fl_yaml_path(const fl_yaml_node *n, char *buf, size_t len)
{
    const fl_yaml_node *chain[64];
    int k = 0;
    for (; n && n->parent && k < 64; n = n->parent) chain[k++] = n;
    size_t w = 0;
    buf[0] = '\0';
    while (k-- > 0) {
        const char *nm = chain[k]->name;
        int dot = w > 0 && nm[0] != '[';
        w += (size_t)snprintf(buf + w, len > w ? len - w : 0, "%s%s", dot ? "." : "", nm);
    }
    if (w == 0) snprintf(buf, len, "(top level)");
}

fl_status fl_yaml_fail(const fl_yaml *y, const fl_yaml_node *n, const char *fmt, ...)
{
    char path[256], msg[640];
    fl_yaml_path(n, path, sizeof path);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return fl_fail(FL_E_INPUT, "%s:%d: %s: %s", y->file, n->line, path, msg);
}

/* ---- getters ----------------------------------------------------------- */

const fl_yaml_node *fl_yaml_get(const fl_yaml *y, const fl_yaml_node *m, const char *key)
{
    (void)y;
    if (!m || m->kind != FL_YAML_MAP) return NULL;
    for (size_t i = 0; i < m->n; ++i)
        if (!strcmp(m->keys[i], key)) return m->items[i];
    return NULL;
}

static const char *kind_name(const fl_yaml_node *n)
{
    return n->kind == FL_YAML_MAP ? "a mapping" : n->kind == FL_YAML_SEQ ? "a list" : "a scalar";
}

fl_status fl_yaml_as_f64(const fl_yaml *y, const fl_yaml_node *n, double *out, double min, double max)
{
    if (n->kind != FL_YAML_SCALAR || n->quoted || !n->value[0])
        return fl_yaml_fail(y, n, "expected a number, got %s%s%s", n->kind == FL_YAML_SCALAR ? "'" : kind_name(n),
                            n->kind == FL_YAML_SCALAR ? n->value : "", n->kind == FL_YAML_SCALAR ? "'" : "");
    char *end;
    errno = 0;
    double v = strtod(n->value, &end);
    if (*end != '\0' || errno == ERANGE)
        return fl_yaml_fail(y, n, "expected a number, got '%s'", n->value);
    if (!isfinite(v)) return fl_yaml_fail(y, n, "value '%s' is not finite", n->value);
    if (v < min || v > max) return fl_yaml_fail(y, n, "value %s is outside [%g, %g]", n->value, min, max);
    *out = v;
    return FL_OK;
}

fl_status fl_yaml_as_i64(const fl_yaml *y, const fl_yaml_node *n, int64_t *out, int64_t min, int64_t max)
{
    if (n->kind != FL_YAML_SCALAR || n->quoted || !n->value[0])
        return fl_yaml_fail(y, n, "expected an integer, got %s", n->kind == FL_YAML_SCALAR ? n->value : kind_name(n));
    char *end;
    errno = 0;
    long long v = strtoll(n->value, &end, 0);
    if (*end != '\0' || errno == ERANGE) {
        /* allow 1e6-style integers, common in configs */
        double d = strtod(n->value, &end);
        if (*end != '\0' || d != floor(d) || fabs(d) > 9.0e15)
            return fl_yaml_fail(y, n, "expected an integer, got '%s'", n->value);
        v = (long long)d;
    }
    if (v < min || v > max)
        return fl_yaml_fail(y, n, "value %s is outside [%lld, %lld]", n->value, (long long)min, (long long)max);
    *out = v;
    return FL_OK;
}

fl_status fl_yaml_get_f64(const fl_yaml *y, const fl_yaml_node *m, const char *key,
                          double *out, double min, double max)
{
    const fl_yaml_node *n = fl_yaml_get(y, m, key);
    return n ? fl_yaml_as_f64(y, n, out, min, max) : FL_OK;
}

fl_status fl_yaml_get_i64(const fl_yaml *y, const fl_yaml_node *m, const char *key,
                          int64_t *out, int64_t min, int64_t max)
{
    const fl_yaml_node *n = fl_yaml_get(y, m, key);
    return n ? fl_yaml_as_i64(y, n, out, min, max) : FL_OK;
}

fl_status fl_yaml_get_int(const fl_yaml *y, const fl_yaml_node *m, const char *key,
                          int *out, int min, int max)
{
    int64_t v = *out;
    fl_status st = fl_yaml_get_i64(y, m, key, &v, min, max);
    if (st == FL_OK) *out = (int)v;
    return st;
}

fl_status fl_yaml_get_bool(const fl_yaml *y, const fl_yaml_node *m, const char *key, int *out)
{
    const fl_yaml_node *n = fl_yaml_get(y, m, key);
    if (!n) return FL_OK;
    static const char *yes[] = {"true", "True", "TRUE", "yes", "Yes", "on", NULL};
    static const char *no[] = {"false", "False", "FALSE", "no", "No", "off", NULL};
    if (n->kind == FL_YAML_SCALAR && !n->quoted) {
        for (int i = 0; yes[i]; ++i)
            if (!strcmp(n->value, yes[i])) return *out = 1, FL_OK;
        for (int i = 0; no[i]; ++i)
            if (!strcmp(n->value, no[i])) return *out = 0, FL_OK;
    }
    return fl_yaml_fail(y, n, "expected true or false, got %s",
                        n->kind == FL_YAML_SCALAR ? n->value : kind_name(n));
}

fl_status fl_yaml_get_str(const fl_yaml *y, const fl_yaml_node *m, const char *key, const char **out)
{
    const fl_yaml_node *n = fl_yaml_get(y, m, key);
    if (!n) return FL_OK;
    if (n->kind != FL_YAML_SCALAR) return fl_yaml_fail(y, n, "expected a string, got %s", kind_name(n));
    *out = n->value;
    return FL_OK;
}

fl_status fl_yaml_get_enum(const fl_yaml *y, const fl_yaml_node *m, const char *key,
                           const char *const *choices, int *out)
{
    const fl_yaml_node *n = fl_yaml_get(y, m, key);
    if (!n) return FL_OK;
    if (n->kind == FL_YAML_SCALAR)
        for (int i = 0; choices[i]; ++i)
            if (!strcmp(n->value, choices[i])) return *out = i, FL_OK;
    char list[256];
    size_t w = 0;
    list[0] = '\0';
    for (int i = 0; choices[i]; ++i)
        w += (size_t)snprintf(list + w, sizeof list > w ? sizeof list - w : 0, "%s%s", i ? ", " : "", choices[i]);
    return fl_yaml_fail(y, n, "expected one of %s, got %s", list,
                        n->kind == FL_YAML_SCALAR ? n->value : kind_name(n));
}

fl_status fl_yaml_get_range(const fl_yaml *y, const fl_yaml_node *m, const char *key,
                            double out[2], double min, double max)
{
    const fl_yaml_node *n = fl_yaml_get(y, m, key);
    if (!n) return FL_OK;
    double v[2];
    fl_status st;
    if (n->kind == FL_YAML_SCALAR) {
        st = fl_yaml_as_f64(y, n, &v[0], min, max);
        v[1] = v[0];
    } else if (n->kind == FL_YAML_SEQ && n->n == 2) {
        st = fl_yaml_as_f64(y, n->items[0], &v[0], min, max);
        if (st == FL_OK) st = fl_yaml_as_f64(y, n->items[1], &v[1], min, max);
    } else {
        return fl_yaml_fail(y, n, "expected a number or a list [low, high]");
    }
    if (st) return st;
    if (v[0] > v[1]) return fl_yaml_fail(y, n, "low %g is above high %g", v[0], v[1]);
    out[0] = v[0];
    out[1] = v[1];
    return FL_OK;
}

static fl_status get_kind(const fl_yaml *y, const fl_yaml_node *m, const char *key,
                          fl_yaml_kind k, const fl_yaml_node **out)
{
    const fl_yaml_node *n = fl_yaml_get(y, m, key);
    *out = NULL;
    if (!n) return FL_OK;
    if (n->kind != k)
        return fl_yaml_fail(y, n, "expected %s, got %s", k == FL_YAML_MAP ? "a mapping" : "a list",
                            kind_name(n));
    *out = n;
    return FL_OK;
}

fl_status fl_yaml_get_map(const fl_yaml *y, const fl_yaml_node *m, const char *key,
                          const fl_yaml_node **out)
{
    return get_kind(y, m, key, FL_YAML_MAP, out);
}

fl_status fl_yaml_get_seq(const fl_yaml *y, const fl_yaml_node *m, const char *key,
                          const fl_yaml_node **out)
{
    return get_kind(y, m, key, FL_YAML_SEQ, out);
}

fl_status fl_yaml_check_known(const fl_yaml *y, const fl_yaml_node *m, const char *const *known)
{
    if (!m) return FL_OK;
    for (size_t i = 0; i < m->n; ++i) {
        int ok = 0;
        for (int k = 0; known[k] && !ok; ++k) ok = !strcmp(m->keys[i], known[k]);
        if (ok) continue;
        char list[512];
        size_t w = 0;
        list[0] = '\0';
        for (int k = 0; known[k]; ++k)
            w += (size_t)snprintf(list + w, sizeof list > w ? sizeof list - w : 0, "%s%s", k ? ", " : "", known[k]);
        char path[256];
        fl_yaml_path(m->items[i], path, sizeof path);
        return fl_fail(FL_E_INPUT, "%s:%d: %s: unknown key (known: %s)", y->file, m->key_lines[i], path, list);
    }
    return FL_OK;
}
