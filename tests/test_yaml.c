/* test_yaml.c - config parsing: values, defaults, and line-numbered errors. */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <string.h>

#include "fligru/yaml.h"

static fl_yaml *parse(const char *text)
{
    fl_yaml *y = NULL;
    fl_status st = fl_yaml_parse(text, strlen(text), "cfg.yaml", &y);
    cr_assert_eq(st, FL_OK, "%s", fl_error());
    return y;
}

static void parse_fails(const char *text, const char *msg)
{
    fl_yaml *y = NULL;
    cr_assert_eq(fl_yaml_parse(text, strlen(text), "cfg.yaml", &y), FL_E_INPUT);
    cr_assert_str_eq(fl_error(), msg);
}

Test(yaml, reads_typed_values_and_keeps_defaults)
{
    fl_yaml *y = parse("seed: 42\n"
                       "gate_width_ns: 0.09\n"
                       "samples: 1e6\n"
                       "decay:\n"
                       "  model: mono\n"
                       "  tau1_ns: [0.2, 0.8]\n"
                       "  fixed: 1.5\n"
                       "noise:\n"
                       "  enabled: false\n"
                       "name: 'run 1'\n");
    const fl_yaml_node *r = fl_yaml_root(y);
    int seed = 0, samples = 0, en = 1, gates = 135, model = -1;
    double gw = 0, range[2] = {0, 0}, fixed[2], untouched = 7.0;
    const char *name = NULL;
    const fl_yaml_node *d, *nz;
    static const char *const models[] = {"bi", "mono", NULL};
    cr_assert_eq(fl_yaml_get_int(y, r, "seed", &seed, 0, 1000), FL_OK);
    cr_assert_eq(fl_yaml_get_int(y, r, "samples", &samples, 1, 100000000), FL_OK);
    cr_assert_eq(fl_yaml_get_int(y, r, "gates", &gates, 1, 4096), FL_OK);
    cr_assert_eq(fl_yaml_get_f64(y, r, "gate_width_ns", &gw, 1e-6, 10), FL_OK);
    cr_assert_eq(fl_yaml_get_f64(y, r, "absent", &untouched, 0, 10), FL_OK);
    cr_assert_eq(fl_yaml_get_str(y, r, "name", &name), FL_OK);
    cr_assert_eq(fl_yaml_get_map(y, r, "decay", &d), FL_OK);
    cr_assert_eq(fl_yaml_get_enum(y, d, "model", models, &model), FL_OK);
    cr_assert_eq(fl_yaml_get_range(y, d, "tau1_ns", range, 0, 100), FL_OK);
    cr_assert_eq(fl_yaml_get_range(y, d, "fixed", fixed, 0, 100), FL_OK);
    cr_assert_eq(fl_yaml_get_map(y, r, "noise", &nz), FL_OK);
    cr_assert_eq(fl_yaml_get_bool(y, nz, "enabled", &en), FL_OK);
    cr_assert(eq(int, seed, 42));
    cr_assert(eq(int, samples, 1000000));
    cr_assert(eq(int, gates, 135));
    cr_assert(eq(dbl, gw, 0.09));
    cr_assert(eq(dbl, untouched, 7.0));
    cr_assert_str_eq(name, "run 1");
    cr_assert(eq(int, model, 1));
    cr_assert(eq(dbl, range[0], 0.2));
    cr_assert(eq(dbl, range[1], 0.8));
    cr_assert(eq(dbl, fixed[0], 1.5));
    cr_assert(eq(dbl, fixed[1], 1.5));
    cr_assert(eq(int, en, 0));
    fl_yaml_free(y);
}

/* Each getter failure names file, line and dotted key. */
Test(yaml, type_and_range_errors_name_file_line_and_key)
{
    fl_yaml *y = parse("seed: 42\n"
                       "decay:\n"
                       "  tau1_ns: [0.8, 0.2]\n"
                       "  tau2_ns: -1\n"
                       "  model: tri\n"
                       "gates: many\n"
                       "noise: [1, 2]\n"
                       "flag: 'true'\n"
                       "axes:\n"
                       "  - bits: 4\n"
                       "  - bits: x\n");
    const fl_yaml_node *r = fl_yaml_root(y), *d, *n;
    int gates = 0, flag = 0;
    double v[2];
    static const char *const models[] = {"bi", "mono", NULL};
    int model;
    fl_yaml_get_map(y, r, "decay", &d);
    cr_assert_eq(fl_yaml_get_range(y, d, "tau1_ns", v, 0, 10), FL_E_INPUT);
    cr_assert_str_eq(fl_error(), "cfg.yaml:3: decay.tau1_ns: low 0.8 is above high 0.2");
    cr_assert_eq(fl_yaml_get_range(y, d, "tau2_ns", v, 1e-9, 10), FL_E_INPUT);
    cr_assert_str_eq(fl_error(), "cfg.yaml:4: decay.tau2_ns: value -1 is outside [1e-09, 10]");
    cr_assert_eq(fl_yaml_get_enum(y, d, "model", models, &model), FL_E_INPUT);
    cr_assert_str_eq(fl_error(), "cfg.yaml:5: decay.model: expected one of bi, mono, got tri");
    cr_assert_eq(fl_yaml_get_int(y, r, "gates", &gates, 1, 100), FL_E_INPUT);
    cr_assert_str_eq(fl_error(), "cfg.yaml:6: gates: expected an integer, got 'many'");
    cr_assert_eq(fl_yaml_get_map(y, r, "noise", &n), FL_E_INPUT);
    cr_assert_str_eq(fl_error(), "cfg.yaml:7: noise: expected a mapping, got a list");
    cr_assert_eq(fl_yaml_get_bool(y, r, "flag", &flag), FL_E_INPUT);
    cr_assert_str_eq(fl_error(), "cfg.yaml:8: flag: expected true or false, got true");
    const fl_yaml_node *axes;
    cr_assert_eq(fl_yaml_get_seq(y, r, "axes", &axes), FL_OK);
    int bits = 0;
    cr_assert_eq(fl_yaml_get_int(y, axes->items[0], "bits", &bits, 2, 32), FL_OK);
    cr_assert(eq(int, bits, 4));
    cr_assert_eq(fl_yaml_get_int(y, axes->items[1], "bits", &bits, 2, 32), FL_E_INPUT);
    cr_assert_str_eq(fl_error(), "cfg.yaml:11: axes[1].bits: expected an integer, got 'x'");
    fl_yaml_free(y);
}

Test(yaml, unknown_keys_are_rejected_with_line_and_known_list)
{
    fl_yaml *y = parse("decay:\n  model: bi\n  tau_ns: 1.0\n");
    const fl_yaml_node *d;
    fl_yaml_get_map(y, fl_yaml_root(y), "decay", &d);
    static const char *const known[] = {"model", "tau1_ns", "tau2_ns", NULL};
    cr_assert_eq(fl_yaml_check_known(y, d, known), FL_E_INPUT);
    cr_assert_str_eq(fl_error(), "cfg.yaml:3: decay.tau_ns: unknown key (known: model, tau1_ns, tau2_ns)");
    fl_yaml_free(y);
}

Test(yaml, malformed_documents_are_rejected_with_line)
{
    parse_fails("a: 1\nb: [1, 2\nc: 3\n",
                "cfg.yaml:3: malformed YAML: did not find expected ',' or ']' while parsing a flow sequence");
    parse_fails("a: 1\na: 2\n", "cfg.yaml:2: a: key given twice (first on line 1)");
    parse_fails("- 1\n- 2\n", "cfg.yaml:1: a config must be a mapping of keys to values");
    parse_fails("a: &x 1\nb: *x\n", "cfg.yaml:2: YAML aliases (*name) are not supported in configs");
    parse_fails("a: 1\n---\nb: 2\n", "cfg.yaml:2: only one YAML document per config");
    parse_fails("a: 1\n\tb: 2\n",
                "cfg.yaml:2: malformed YAML: found a tab character that violates indentation while scanning a plain scalar");
}

Test(yaml, empty_file_is_an_empty_mapping)
{
    fl_yaml *y = parse("# only a comment\n");
    cr_assert(eq(sz, fl_yaml_root(y)->n, 0));
    fl_yaml_free(y);
}

Test(yaml, missing_file_is_an_io_error_naming_it)
{
    fl_yaml *y;
    cr_assert_eq(fl_yaml_load("/nonexistent/cfg.yaml", &y), FL_E_IO);
    cr_assert(strstr(fl_error(), "/nonexistent/cfg.yaml: cannot open") != NULL);
}
