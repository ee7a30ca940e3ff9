/* fligru/yaml.h - YAML configuration files with line numbers and strict keys.
 *
 * Every fligru config is YAML (no C TOML library exists in Debian). libyaml
 * parses it into a small tree whose nodes remember their line, so each error
 * names the file, the line and the dotted key:
 *
 *     cfg.yaml:12: decay.tau1_ns: expected a list of 2 numbers
 *     cfg.yaml:3: noise.photon: unknown key (known: enabled, photons, dark_counts)
 *
 * Typical use (fl_yaml_check_known rejects any key not in the reader's list,
 * so a typo never passes silently):
 *
 *     fl_yaml *y;  if (fl_yaml_load(path, &y)) return ...;
 *     const fl_yaml_node *root = fl_yaml_root(y);
 *     double g = 0.09;
 *     st = fl_yaml_get_f64(y, root, "gate_width_ns", &g, 1e-6, 100.0);  // optional
 *     const fl_yaml_node *d = fl_yaml_get_map(y, root, "decay");         // NULL if absent
 *     ...
 *     st = fl_yaml_check_known(y, root, known_keys);
 *     fl_yaml_free(y);
 *
 * Getters leave *out unchanged when the key is absent (defaults stay) and fail
 * with FL_E_INPUT on a wrong type or a value outside [min, max].
 *
 * Limits: nesting at most FL_YAML_MAX_DEPTH levels; parsing time is linear in
 * the file's size (duplicate keys are found with a hash set); files over 64 MiB
 * are refused.
 */
#ifndef FLIGRU_YAML_H
#define FLIGRU_YAML_H

#include <stddef.h>
#include <stdint.h>
#include "fligru/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Deepest nesting of maps and lists a config may use (the root map is level 1);
 * deeper input is refused with its file and line, whatever its size. */
#define FL_YAML_MAX_DEPTH 32

typedef enum { FL_YAML_SCALAR, FL_YAML_SEQ, FL_YAML_MAP } fl_yaml_kind;

typedef struct fl_yaml_node fl_yaml_node;
struct fl_yaml_node {
    fl_yaml_kind   kind;
    int            line;        /* 1-based line of the node's first token  */
    char          *value;       /* scalar text (NULL for seq/map)           */
    int            quoted;      /* scalar was quoted: always a string       */
    size_t         n;           /* number of items (seq) or pairs (map)     */
    fl_yaml_node **items;       /* seq items, or map values                 */
    char         **keys;        /* map keys (NULL for seq)                  */
    int           *key_lines;   /* line of each map key                     */
    const fl_yaml_node *parent;
    const char    *name;        /* key (or "[i]") under the parent          */
};

typedef struct fl_yaml fl_yaml;

fl_status fl_yaml_load(const char *path, fl_yaml **out);
/* Parses YAML text; `name` stands in for the file name in messages. */
fl_status fl_yaml_parse(const char *text, size_t len, const char *name, fl_yaml **out);
void      fl_yaml_free(fl_yaml *y);
const fl_yaml_node *fl_yaml_root(const fl_yaml *y);  /* a map (empty file: empty map) */
const char *fl_yaml_file(const fl_yaml *y);

/* Dotted path of a node ("decay.tau1_ns", "axes[2].bits") into buf. */
void fl_yaml_path(const fl_yaml_node *n, char *buf, size_t len);

/* Looks up key in map m; NULL when absent. */
const fl_yaml_node *fl_yaml_get(const fl_yaml *y, const fl_yaml_node *m, const char *key);

/* Typed getters: FL_OK when absent (out untouched) or valid. */
fl_status fl_yaml_get_f64 (const fl_yaml *y, const fl_yaml_node *m, const char *key,
                           double *out, double min, double max);
fl_status fl_yaml_get_i64 (const fl_yaml *y, const fl_yaml_node *m, const char *key,
                           int64_t *out, int64_t min, int64_t max);
fl_status fl_yaml_get_int (const fl_yaml *y, const fl_yaml_node *m, const char *key,
                           int *out, int min, int max);
fl_status fl_yaml_get_bool(const fl_yaml *y, const fl_yaml_node *m, const char *key, int *out);
/* *out points into the tree (valid until fl_yaml_free). */
fl_status fl_yaml_get_str (const fl_yaml *y, const fl_yaml_node *m, const char *key,
                           const char **out);
/* One of the NULL-terminated choices; *out is its index. */
fl_status fl_yaml_get_enum(const fl_yaml *y, const fl_yaml_node *m, const char *key,
                           const char *const *choices, int *out);
/* A [lo, hi] pair with min <= lo <= hi <= max; a single number means [v, v]. */
fl_status fl_yaml_get_range(const fl_yaml *y, const fl_yaml_node *m, const char *key,
                            double out[2], double min, double max);
/* A nested map; FL_OK with *out = NULL when absent, FL_E_INPUT when not a map. */
fl_status fl_yaml_get_map(const fl_yaml *y, const fl_yaml_node *m, const char *key,
                          const fl_yaml_node **out);
/* A sequence; FL_OK with *out = NULL when absent, FL_E_INPUT when not a sequence. */
fl_status fl_yaml_get_seq(const fl_yaml *y, const fl_yaml_node *m, const char *key,
                          const fl_yaml_node **out);

/* Scalar conversions of a node (for sequence items). */
fl_status fl_yaml_as_f64(const fl_yaml *y, const fl_yaml_node *n, double *out, double min, double max);
fl_status fl_yaml_as_i64(const fl_yaml *y, const fl_yaml_node *n, int64_t *out, int64_t min, int64_t max);

/* Fails on the first key of map m that is not in the NULL-terminated list
 * known ("unknown key"), listing the known keys in the message; also fails on a
 * key given twice. */
fl_status fl_yaml_check_known(const fl_yaml *y, const fl_yaml_node *m, const char *const *known);

/* Formats "file:line: path: " + message and returns FL_E_INPUT. */
fl_status fl_yaml_fail(const fl_yaml *y, const fl_yaml_node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#ifdef __cplusplus
}
#endif
#endif
