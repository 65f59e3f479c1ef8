/* The OpenAPI document and the server, held to each other in both directions:
 *  - every route in csrd's route table (`csrd routes`) is an operation of the spec, and every
 *    operation of the spec is a route, each with an operationId and a tag that is described;
 *  - every operation was answered with a success (2xx) at least once by the HTTP suite: the
 *    harness appends "operationId status" for each answer it checks against the spec to
 *    CSRD_TEST_COVERAGE_DIR, which scripts/test.sh sets for the release run and then runs
 *    this program's second test (label coverage). No server or database is needed here. */
#include "../unit/check.h"
#include "util/yaml_json.h"
#include <ctype.h>
#include <dirent.h>
#include <jansson.h>
#include <stdbool.h>
#include <sys/wait.h>

static json_t *load_spec(void)
{
    FILE *f = fopen(CSRD_SPEC_PATH, "rb");
    if (!f) {
        fprintf(stderr, "cannot read %s\n", CSRD_SPEC_PATH);
        return NULL;
    }
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char err[256];
    json_t *spec = yaml_to_json(buf, n, err, sizeof(err));
    if (!spec)
        fprintf(stderr, "%s: %s\n", CSRD_SPEC_PATH, err);
    return spec;
}

/* "GET /v1/customers" -> "get /v1/customers" (the spec's spelling) */
static void lower_method(char *line)
{
    for (char *c = line; *c && *c != ' '; c++)
        *c = (char)tolower((unsigned char)*c);
}

static bool is_method(const char *m)
{
    static const char *const methods[] = {"get", "put", "post", "delete", "patch", NULL};
    for (const char *const *x = methods; *x; x++)
        if (!strcmp(m, *x))
            return true;
    return false;
}

/* "method path" of every operation, as keys of a new object; values are the operations */
static json_t *spec_operations(const json_t *spec)
{
    json_t *ops = json_object();
    const char *path, *method;
    json_t *item, *op;
    json_object_foreach(json_object_get(spec, "paths"), path, item)
    {
        json_object_foreach(item, method, op)
        {
            if (!is_method(method))
                continue;
            char key[300];
            snprintf(key, sizeof(key), "%s %s", method, path);
            json_object_set(ops, key, op);
        }
    }
    return ops;
}

TEST(every_route_is_in_the_spec_and_every_operation_is_a_route)
{
    json_t *spec = load_spec();
    CHECK(spec != NULL);
    if (!spec)
        return;
    json_t *ops = spec_operations(spec);
    CHECK(json_object_size(ops) > 40);
    FILE *p = popen(CSRD_BIN " routes", "r");
    CHECK(p != NULL);
    if (!p)
        return;
    json_t *routes = json_object();
    char line[300];
    while (fgets(line, sizeof(line), p)) {
        line[strcspn(line, "\n")] = '\0';
        lower_method(line);
        json_object_set_new(routes, line, json_true());
        if (!json_object_get(ops, line)) {
            fprintf(stderr, "route %s is not in api-spec/openapi.yaml\n", line);
            check_failures++;
        }
    }
    CHECK(pclose(p) == 0);
    CHECK(json_object_size(routes) > 40);
    /* tags with descriptions, for the docs page and generated clients */
    json_t *described = json_object();
    size_t i;
    json_t *tag;
    json_array_foreach(json_object_get(spec, "tags"), i, tag)
    {
        if (json_string_value(json_object_get(tag, "description")))
            json_object_set_new(described, json_string_value(json_object_get(tag, "name")),
                                json_true());
        else
            fprintf(stderr, "tag %s has no description\n",
                    json_string_value(json_object_get(tag, "name")));
    }
    json_t *ids = json_object();
    const char *key;
    json_t *op;
    json_object_foreach(ops, key, op)
    {
        const char *id = json_string_value(json_object_get(op, "operationId"));
        const char *t = json_string_value(json_array_get(json_object_get(op, "tags"), 0));
        if (!json_object_get(routes, key)) {
            fprintf(stderr, "operation %s has no route in csrd\n", key);
            check_failures++;
        }
        if (!id || json_object_get(ids, id)) {
            fprintf(stderr, "operation %s: operationId %s missing or not unique\n", key,
                    id ? id : "-");
            check_failures++;
        } else {
            json_object_set_new(ids, id, json_true());
        }
        if (!t || !json_object_get(described, t)) {
            fprintf(stderr, "operation %s: tag %s missing or not described\n", key, t ? t : "-");
            check_failures++;
        }
    }
    json_decref(ids);
    json_decref(described);
    json_decref(routes);
    json_decref(ops);
    json_decref(spec);
}

/* csrd --version is the spec's info.version; csrd --help names every CSRD_ variable that
 * server/config.c reads; a bad argument is one line that points at --help, exit status 2. */
TEST(help_names_every_setting_and_version_matches_the_spec)
{
    json_t *spec = load_spec();
    CHECK(spec != NULL);
    if (!spec)
        return;
    char want[128], line[256] = "";
    snprintf(want, sizeof(want), "csrd %s\n",
             json_string_value(json_object_get(json_object_get(spec, "info"), "version")));
    FILE *p = popen(CSRD_BIN " --version", "r");
    CHECK(p && fgets(line, sizeof(line), p));
    CHECK(p && pclose(p) == 0);
    CHECK_STR(line, want);

    static char help[64 * 1024];
    p = popen(CSRD_BIN " --help", "r");
    size_t n = p ? fread(help, 1, sizeof(help) - 1, p) : 0;
    help[n] = '\0';
    CHECK(p && pclose(p) == 0);
    CHECK(strstr(help, "SYNOPSIS") && strstr(help, "EXIT STATUS"));
    FILE *src = fopen(CSRD_CONFIG_SRC, "r");
    CHECK(src != NULL);
    int names = 0;
    while (src && fgets(line, sizeof(line), src)) {
        for (char *q = strstr(line, "\"CSRD_"); q; q = strstr(q + 1, "\"CSRD_")) {
            char name[64];
            if (sscanf(q + 1, "%63[A-Z_]", name) != 1)
                continue;
            names++;
            char padded[80];
            snprintf(padded, sizeof(padded), "    %s ", name);
            char listed[80];
            snprintf(listed, sizeof(listed), "    %s,", name);
            char paired[80];
            snprintf(paired, sizeof(paired), ", %s ", name);
            if (!strstr(help, padded) && !strstr(help, listed) && !strstr(help, paired)) {
                fprintf(stderr, "csrd --help does not describe %s\n", name);
                check_failures++;
            }
        }
    }
    if (src)
        fclose(src);
    CHECK(names > 20);

    p = popen(CSRD_BIN " --bogus 2>&1", "r");
    line[0] = '\0';
    CHECK(p && fgets(line, sizeof(line), p));
    int st = p ? pclose(p) : -1;
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 2);
    CHECK(strstr(line, "--bogus") && strstr(line, "csrd --help"));
    json_decref(spec);
}

TEST(every_operation_was_answered_with_a_success_by_the_http_suite)
{
    const char *dir = getenv("CSRD_TEST_COVERAGE_DIR");
    if (!dir || !*dir) {
        fprintf(stderr, "CSRD_TEST_COVERAGE_DIR is not set: run the HTTP suite with it first "
                        "(scripts/test.sh does)\n");
        check_failures++;
        return;
    }
    json_t *spec = load_spec();
    CHECK(spec != NULL);
    if (!spec)
        return;
    json_t *ok = json_object(), *seen = json_object();
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    int files = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        if (strncmp(e->d_name, "cov-", 4) != 0) /* cov-PID: "operationId status" lines */
            continue;
        char path[1024], line[200];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        files++;
        while (fgets(line, sizeof(line), f)) {
            char id[128];
            long status;
            if (sscanf(line, "%127s %ld", id, &status) != 2)
                continue;
            json_object_set_new(seen, id, json_true());
            if (status >= 200 && status < 300)
                json_object_set_new(ok, id, json_true());
        }
        fclose(f);
    }
    if (d)
        closedir(d);
    CHECK(files > 0);
    json_t *ops = spec_operations(spec);
    const char *key;
    json_t *op;
    int missing = 0;
    json_object_foreach(ops, key, op)
    {
        const char *id = json_string_value(json_object_get(op, "operationId"));
        if (id && !json_object_get(ok, id)) {
            fprintf(stderr, "%s (%s) was %s by the HTTP suite\n", id, key,
                    json_object_get(seen, id) ? "never answered with a 2xx" : "never called");
            missing++;
        }
    }
    CHECK_INT(missing, 0);
    fprintf(stderr, "%zu of %zu operations answered with a 2xx\n", json_object_size(ok),
            json_object_size(ops));
    json_decref(ops);
    json_decref(ok);
    json_decref(seen);
    json_decref(spec);
}

int main(int argc, char **argv)
{
    return check_main(argc, argv);
}
