/* fuzz_yaml.c - the YAML tree (fl_yaml_parse) and its getters on every node. */
#include "fuzz.h"
#include "fligru/yaml.h"

#include <stdint.h>

/* Every getter on every node: none may crash whatever the node's kind. */
static void walk(const fl_yaml *y, const fl_yaml_node *n)
{
    char path[256];
    fl_yaml_path(n, path, sizeof path);
    double d, r[2];
    int64_t i;
    fl_yaml_as_f64(y, n, &d, -1e300, 1e300);
    fl_yaml_as_i64(y, n, &i, INT64_MIN, INT64_MAX);
    if (n->kind == FL_YAML_MAP) {
        static const char *const known[] = {"seed", "samples", "name", NULL};
        const fl_yaml_node *c;
        const char *s;
        int b, e;
        fl_yaml_check_known(y, n, known);
        for (size_t k = 0; k < n->n; ++k) {
            const char *key = n->keys[k];
            fl_yaml_get_bool(y, n, key, &b);
            fl_yaml_get_str(y, n, key, &s);
            fl_yaml_get_enum(y, n, key, known, &e);
            fl_yaml_get_range(y, n, key, r, -1e9, 1e9);
            fl_yaml_get_map(y, n, key, &c);
            fl_yaml_get_seq(y, n, key, &c);
        }
    }
    for (size_t k = 0; n->kind != FL_YAML_SCALAR && k < n->n; ++k) walk(y, n->items[k]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    fl_yaml *y;
    if (fl_yaml_parse((const char *)data, n, "fuzz.yaml", &y) != FL_OK) return 0;
    walk(y, fl_yaml_root(y));
    fl_yaml_free(y);
    return 0;
}
