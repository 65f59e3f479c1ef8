/* The harness behind harness.h. */
#include "harness.h"
#include "json/json_text.h"
#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <limits.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Two server slots: most tests use slot 0; multi-instance tests start a second csrd in slot
 * 1 and switch between them with server_select(). */
static pid_t server_pids[2];
static char bases[2][64];
static char cas[2][512]; /* CSRD_TLS_CERT of an HTTPS server: the CA file curl trusts */
static int current;
#define server_pid server_pids[current]
#define base       bases[current]
#define tls_ca     cas[current]
static CURL *curl;
static json_t *spec;
static int quiet; /* > 0 while trying oneOf alternatives or waiting for start-up */
#define SAY(...) (quiet ? (void)0 : (void)fprintf(stderr, __VA_ARGS__))

struct resp_node {
    struct resp r;
    struct resp_node *next;
};
static struct resp_node *all_resps;

void harness_after_fork(void)
{
    /* the parent's handle holds a keep-alive socket that the child must not share */
    curl = curl_easy_init();
}

const char *server_base(void)
{
    return base;
}

static int free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    if (bind(s, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        getsockname(s, (struct sockaddr *)&a, &len) != 0) {
        perror("bind");
        exit(2);
    }
    close(s);
    return ntohs(a.sin_port);
}

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    struct resp *r = ud;
    r->body = realloc(r->body, r->len + sz * n + 1);
    memcpy(r->body + r->len, p, sz * n);
    r->len += sz * n;
    r->body[r->len] = '\0';
    return sz * n;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
    struct resp *r = ud;
    size_t old = r->headers ? strlen(r->headers) : 0;
    r->headers = realloc(r->headers, old + sz * n + 1);
    memcpy(r->headers + old, p, sz * n);
    r->headers[old + sz * n] = '\0';
    return sz * n;
}

const char *resp_header(const struct resp *r, const char *name)
{
    static char value[4096];
    size_t n = strlen(name);
    for (const char *line = r->headers; line && *line;) {
        const char *end = strstr(line, "\r\n");
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len > n && strncasecmp(line, name, n) == 0 && line[n] == ':') {
            const char *v = line + n + 1;
            while (*v == ' ')
                v++;
            size_t vl = len - (size_t)(v - line);
            if (vl >= sizeof(value))
                vl = sizeof(value) - 1;
            memcpy(value, v, vl);
            value[vl] = '\0';
            return value;
        }
        line = end ? end + 2 : line + len;
    }
    return NULL;
}

size_t page_size(const char *path, const char *token)
{
    struct resp *r = req("GET", path, token, NULL, NULL);
    CHECK_STATUS(r, 200);
    return json_array_size(json_object_get(r->json, "data"));
}

const char *jstr(const json_t *j, const char *key)
{
    return json_string_value(json_object_get(j, key));
}

/* ---- schema checks ------------------------------------------------------------------- */

static const json_t *resolve(const json_t *schema)
{
    const char *ref = jstr(schema, "$ref");
    if (!ref || strncmp(ref, "#/components/schemas/", 21) != 0)
        return schema;
    return json_object_get(json_object_get(json_object_get(spec, "components"), "schemas"),
                           ref + 21);
}

static bool type_ok(const json_t *v, const char *t)
{
    if (!strcmp(t, "null"))
        return json_is_null(v);
    if (!strcmp(t, "string"))
        return json_is_string(v);
    if (!strcmp(t, "integer"))
        return json_is_integer(v);
    if (!strcmp(t, "number"))
        return json_is_number(v);
    if (!strcmp(t, "boolean"))
        return json_is_boolean(v);
    if (!strcmp(t, "object"))
        return json_is_object(v);
    if (!strcmp(t, "array"))
        return json_is_array(v);
    return false;
}

static void schema_check(const json_t *v, const json_t *schema, const char *path, int *errs)
{
    schema = resolve(schema);
    if (!schema) {
        SAY("spec: %s: unresolvable $ref\n", path);
        (*errs)++;
        return;
    }
    const json_t *oneof = json_object_get(schema, "oneOf");
    if (oneof) {
        size_t i, matched = 0;
        json_t *alt;
        quiet++;
        json_array_foreach(oneof, i, alt)
        {
            int e = 0;
            schema_check(v, alt, path, &e);
            matched += e == 0;
        }
        quiet--;
        if (matched != 1) {
            SAY("spec: %s: matches %zu of oneOf\n", path, matched);
            (*errs)++;
        }
        return;
    }
    const json_t *type = json_object_get(schema, "type");
    if (type) {
        bool ok = false;
        if (json_is_string(type)) {
            ok = type_ok(v, json_string_value(type));
        } else {
            size_t i;
            json_t *t;
            json_array_foreach(type, i, t) ok = ok || type_ok(v, json_string_value(t));
        }
        if (!ok) {
            char *d = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
            SAY("spec: %s: value %.100s does not have the documented type\n", path, d);
            free(d);
            (*errs)++;
            return;
        }
    }
    const json_t *en = json_object_get(schema, "enum");
    if (en && !json_is_null(v)) {
        bool found = false;
        size_t i;
        json_t *e;
        json_array_foreach(en, i, e) found = found || json_equal(e, v);
        if (!found) {
            SAY("spec: %s: value not in the documented enum\n", path);
            (*errs)++;
        }
    }
    if (json_is_object(v)) {
        const json_t *props = json_object_get(schema, "properties");
        const json_t *req = json_object_get(schema, "required");
        const json_t *addl = json_object_get(schema, "additionalProperties");
        size_t i;
        json_t *name;
        json_array_foreach(req, i, name)
        {
            if (!json_object_get(v, json_string_value(name))) {
                SAY("spec: %s: required member '%s' missing\n", path, json_string_value(name));
                (*errs)++;
            }
        }
        const char *k;
        json_t *m;
        json_object_foreach((json_t *)v, k, m)
        {
            char sub[512];
            snprintf(sub, sizeof(sub), "%s.%s", path, k);
            const json_t *ps = json_object_get(props, k);
            if (ps)
                schema_check(m, ps, sub, errs);
            else if (json_is_false(addl)) {
                SAY("spec: %s: member not documented\n", sub);
                (*errs)++;
            } else if (json_is_object(addl))
                schema_check(m, addl, sub, errs);
        }
    }
    if (json_is_array(v) && json_object_get(schema, "items")) {
        size_t i;
        json_t *item;
        json_array_foreach((json_t *)v, i, item)
        {
            char sub[512];
            snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
            schema_check(item, json_object_get(schema, "items"), sub, errs);
        }
    }
}

static bool spec_path_matches(const char *tmpl, const char *path)
{
    while (*tmpl && *path) {
        if (*tmpl == '{') {
            tmpl += strcspn(tmpl, "}");
            if (*tmpl)
                tmpl++;
            size_t seg = strcspn(path, "/?");
            if (seg == 0)
                return false;
            path += seg;
            continue;
        }
        if (*tmpl != *path)
            return false;
        tmpl++, path++;
    }
    return *tmpl == '\0' && (*path == '\0' || *path == '?');
}

/* With CSRD_TEST_COVERAGE_DIR set, every answer checked against the spec appends
 * "operationId status" to DIR/cov-PID.txt (O_APPEND: forked clients share the file), for the
 * test that every operation was answered with a success at least once. */
static int coverage_file(const char *name)
{
    const char *dir = getenv("CSRD_TEST_COVERAGE_DIR");
    char path[512];
    snprintf(path, sizeof(path), "%s/%s-%d", dir ? dir : "", name, (int)getpid());
    return dir && *dir ? open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644) : -1;
}

static void record_coverage(const json_t *op, const struct resp *r)
{
    static int fd = -2, bodies = -2;
    if (fd == -2)
        fd = coverage_file("cov"), bodies = coverage_file("responses");
    const char *id = json_string_value(json_object_get(op, "operationId"));
    if (fd < 0 || !id)
        return;
    char line[160];
    int n = snprintf(line, sizeof(line), "%s %ld\n", id, r->status);
    if (n > 0 && (size_t)n < sizeof(line) && write(fd, line, (size_t)n) != n)
        fprintf(stderr, "CSRD_TEST_COVERAGE_DIR: write failed\n");
    /* JSON bodies (up to 256 KiB) as NDJSON, for tests/contract/validate-responses.mjs: the
     * same answers checked again by a standard JSON Schema validator */
    const char *type = resp_header(r, "Content-Type");
    if (bodies < 0 || !r->json || r->len > 256 * 1024 || !type)
        return;
    json_t *rec = json_pack("{s:s,s:I,s:s,s:O}", "op", id, "status", (json_int_t)r->status, "type",
                            type, "body", r->json);
    char *text = rec ? json_dumps(rec, JSON_COMPACT) : NULL;
    if (text) {
        size_t len = strlen(text);
        text[len] = '\n'; /* replaces the terminator: written as one line, not as a string */
        if (write(bodies, text, len + 1) != (ssize_t)(len + 1))
            fprintf(stderr, "CSRD_TEST_COVERAGE_DIR: write failed\n");
    }
    free(text);
    json_decref(rec);
}

static void check_against_spec(const char *method, const char *path, struct resp *r)
{
    if (!spec)
        return;
    const json_t *paths = json_object_get(spec, "paths");
    const char *tmpl;
    json_t *item, *op = NULL;
    char lower[16];
    size_t i;
    for (i = 0; i < sizeof(lower) - 1 && method[i]; i++)
        lower[i] = (char)tolower((unsigned char)method[i]);
    lower[i] = '\0';
    /* a literal segment wins over a placeholder: /v1/customers/export is not {id} */
    int best = INT_MAX;
    json_object_foreach((json_t *)paths, tmpl, item)
    {
        json_t *o = spec_path_matches(tmpl, path) ? json_object_get(item, lower) : NULL;
        int placeholders = 0;
        for (const char *c = tmpl; *c; c++)
            placeholders += *c == '{';
        if (o && placeholders < best)
            op = o, best = placeholders;
    }
    if (op)
        record_coverage(op, r);
    if (!op) {
        /* 404/405 answers for paths or methods the API does not have are expected */
        if (r->status == 404 || r->status == 405 || !strcmp(method, "OPTIONS") ||
            !strcmp(method, "HEAD"))
            return;
        fprintf(stderr, "spec: %s %s is not documented\n", method, path);
        check_failures++;
        return;
    }
    char code[8];
    snprintf(code, sizeof(code), "%ld", r->status);
    const json_t *responses = json_object_get(op, "responses");
    const json_t *resp = json_object_get(responses, code);
    if (!resp)
        resp = json_object_get(responses, "default");
    if (!resp) {
        fprintf(stderr, "spec: %s %s: status %s is not documented\n", method, path, code);
        check_failures++;
        return;
    }
    resp = resolve(resp);
    if (jstr(resp, "$ref")) { /* #/components/responses/X */
        const char *ref = jstr(resp, "$ref");
        const char *name = strrchr(ref, '/');
        resp = json_object_get(json_object_get(json_object_get(spec, "components"), "responses"),
                               name ? name + 1 : "");
    }
    const json_t *content = json_object_get(resp, "content");
    if (!r->json || !content)
        return;
    const char *ct = resp_header(r, "Content-Type");
    char media[128];
    snprintf(media, sizeof(media), "%s", ct ? ct : "");
    media[strcspn(media, ";")] = '\0';
    const json_t *mt = json_object_get(content, media);
    if (!mt) {
        fprintf(stderr, "spec: %s %s %s: content type %s is not documented\n", method, path, code,
                media);
        check_failures++;
        return;
    }
    const json_t *schema = json_object_get(mt, "schema");
    int errs = 0;
    if (schema)
        schema_check(r->json, schema, "body", &errs);
    if (errs) {
        fprintf(stderr, "spec: %s %s %s: body does not match the schema (%d problems)\n", method,
                path, code, errs);
        check_failures++;
    }
}

/* ---- requests ------------------------------------------------------------------------ */

struct resp *req_raw(const char *method, const char *path, const char *token, const char *body,
                     size_t body_len, const char *const *headers, bool check_spec)
{
    struct resp_node *node = calloc(1, sizeof(*node));
    node->next = all_resps;
    all_resps = node;
    struct resp *r = &node->r;
    char url[4096];
    snprintf(url, sizeof(url), "%s%s", base, path);
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    if (tls_ca[0])
        curl_easy_setopt(curl, CURLOPT_CAINFO, tls_ca);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    if (!strcmp(method, "HEAD"))
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(curl, CURLOPT_PATH_AS_IS, 1L);
    struct curl_slist *h = NULL;
    char auth[512];
    bool has_ct = false;
    if (token) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
        h = curl_slist_append(h, auth);
    }
    for (const char *const *x = headers; x && *x; x++) {
        h = curl_slist_append(h, *x);
        if (!strncasecmp(*x, "Content-Type:", 13))
            has_ct = true;
    }
    if (body) {
        if (!has_ct)
            h = curl_slist_append(h, "Content-Type: application/json");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    h = curl_slist_append(h, "Expect:");
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
    CURLcode rc = curl_easy_perform(curl);
    curl_slist_free_all(h);
    if (rc != CURLE_OK) {
        SAY("request %s %s failed: %s\n", method, path, curl_easy_strerror(rc));
        check_failures++;
        r->status = -1;
        return r;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->status);
    const char *ct = resp_header(r, "Content-Type");
    bool is_json = ct && strstr(ct, "json") && !strstr(ct, "ndjson"); /* NDJSON: many values */
    if (r->body && is_json) /* also valid JSON with integers beyond 64 bits */
        r->json = json_load_stored(r->body);
    if (r->body && is_json && !r->json) {
        fprintf(stderr, "%s %s: response body is not JSON: %.200s\n", method, path, r->body);
        check_failures++;
    }
    if (check_spec)
        check_against_spec(method, path, r);
    return r;
}

struct resp *req(const char *method, const char *path, const char *token, const char *body,
                 const char *const *headers)
{
    return req_raw(method, path, token, body, body ? strlen(body) : 0, headers, true);
}

/* paths[i] (or path), bodies[i] (JSON, or none), tokens[i] (or token), all at once */
static void parallel(const char *method, const char *path, const char *const *paths,
                     const char *const *bodies, const char *token, const char *const *tokens, int n,
                     struct resp **out)
{
    CURLM *multi = curl_multi_init();
    CURL **easy = calloc((size_t)n, sizeof(*easy));
    struct curl_slist **h = calloc((size_t)n, sizeof(*h));
    for (int i = 0; i < n; i++) {
        struct resp_node *node = calloc(1, sizeof(*node));
        node->next = all_resps;
        all_resps = node;
        out[i] = &node->r;
        char url[4096], auth[512];
        snprintf(url, sizeof(url), "%s%s", base, paths ? paths[i] : path);
        const char *tok = tokens ? tokens[i] : token;
        if (tok) {
            snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
            h[i] = curl_slist_append(h[i], auth);
        }
        easy[i] = curl_easy_init();
        curl_easy_setopt(easy[i], CURLOPT_URL, url);
        if (tls_ca[0])
            curl_easy_setopt(easy[i], CURLOPT_CAINFO, tls_ca);
        curl_easy_setopt(easy[i], CURLOPT_CUSTOMREQUEST, method);
        if (bodies && bodies[i]) {
            h[i] = curl_slist_append(h[i], "Content-Type: application/json");
            curl_easy_setopt(easy[i], CURLOPT_POSTFIELDS, bodies[i]);
        }
        curl_easy_setopt(easy[i], CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(easy[i], CURLOPT_WRITEDATA, out[i]);
        curl_easy_setopt(easy[i], CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(easy[i], CURLOPT_HEADERDATA, out[i]);
        curl_easy_setopt(easy[i], CURLOPT_TIMEOUT, 30L);
        curl_easy_setopt(easy[i], CURLOPT_HTTPHEADER, h[i]);
        curl_multi_add_handle(multi, easy[i]); /* each on a connection of its own, at once */
    }
    int running = 1;
    while (running) {
        curl_multi_perform(multi, &running);
        if (running)
            curl_multi_poll(multi, NULL, 0, 1000, NULL);
    }
    for (int i = 0; i < n; i++) {
        long status = -1;
        curl_easy_getinfo(easy[i], CURLINFO_RESPONSE_CODE, &status);
        out[i]->status = status ? status : -1;
        const char *ct = resp_header(out[i], "Content-Type");
        if (out[i]->body && ct && strstr(ct, "json") && !strstr(ct, "ndjson"))
            out[i]->json = json_load_stored(out[i]->body);
        check_against_spec(method, paths ? paths[i] : path, out[i]);
        curl_multi_remove_handle(multi, easy[i]);
        curl_easy_cleanup(easy[i]);
        curl_slist_free_all(h[i]);
    }
    free(h);
    free(easy);
    curl_multi_cleanup(multi);
}

void req_parallel(const char *method, const char *const *paths, int n, const char *token,
                  struct resp **out)
{
    parallel(method, NULL, paths, NULL, token, NULL, n, out);
}

void req_parallel_bodies(const char *method, const char *path, const char *const *bodies,
                         const char *const *tokens, int n, struct resp **out)
{
    parallel(method, path, NULL, bodies, NULL, tokens, n, out);
}

const char *unique(const char *prefix)
{
    static char buf[8][96];
    static int next;
    unsigned char raw[6];
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
        abort();
    char *out = buf[next++ % 8];
    snprintf(out, 96, "%s-%02x%02x%02x%02x%02x%02x", prefix, raw[0], raw[1], raw[2], raw[3], raw[4],
             raw[5]);
    return out;
}

const char *key_for(const char *role)
{
    static char tokens[4][128];
    static const char *const roles[] = {"viewer", "agent", "supervisor", "admin"};
    for (int i = 0; i < 4; i++) {
        if (strcmp(role, roles[i]) != 0)
            continue;
        if (!tokens[i][0]) {
            char body[256];
            snprintf(body, sizeof(body), "{\"name\":\"%s\",\"role\":\"%s\"}", unique("test-key"),
                     role);
            struct resp *r = req("POST", "/v1/api-keys", ADMIN_TOKEN, body, NULL);
            if (r->status != 201 || !jstr(r->json, "token")) {
                fprintf(stderr, "cannot create a %s key: %ld %s\n", role, r->status, r->body);
                exit(2);
            }
            snprintf(tokens[i], sizeof(tokens[i]), "%s", jstr(r->json, "token"));
        }
        return tokens[i];
    }
    fprintf(stderr, "no role %s\n", role);
    exit(2);
}

/* ---- server lifecycle ---------------------------------------------------------------- */

void server_select(int slot)
{
    current = slot ? 1 : 0;
}

void server_start(const char *const *env)
{
    const char *db = getenv("DATABASE_URL");
    if (!db || !*db) {
        fprintf(stderr, "DATABASE_URL must name the test database (scripts/test.sh sets it)\n");
        exit(2);
    }
    int port = free_port();
    for (const char *const *e = env; e && *e; e++) /* a fixed port, e.g. to come back on */
        if (!strncmp(*e, "CSRD_LISTEN=127.0.0.1:", 22))
            port = atoi(*e + 22);
    tls_ca[0] = '\0';
    for (const char *const *e = env; e && *e; e++)
        if (!strncmp(*e, "CSRD_TLS_CERT=", 14))
            snprintf(tls_ca, sizeof(cas[0]), "%s", *e + 14);
    snprintf(base, sizeof(base), "%s://127.0.0.1:%d", tls_ca[0] ? "https" : "http", port);
    fflush(NULL);
    server_pid = fork();
    if (server_pid == 0) {
        char listen[64];
        snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
        setenv("CSRD_LISTEN", listen, 1);
        setenv("CSRD_ADMIN_TOKEN", ADMIN_TOKEN, 1);
        setenv("CSRD_THREADS", "4", 1);
        setenv("CSRD_MAX_BODY", "65536", 1);
        setenv("CSRD_CORS_ORIGINS", "https://app.example.com", 1);
        if (!getenv("CSRD_LOG_LEVEL"))
            setenv("CSRD_LOG_LEVEL", "warn", 1);
        for (const char *const *e = env; e && *e; e++)
            putenv((char *)*e);
        /* CSRD_TEST_WRAPPER runs csrd under a tool, e.g. "valgrind --error-exitcode=99" */
        const char *wrapper = getenv("CSRD_TEST_WRAPPER");
        if (wrapper && *wrapper) {
            char cmd[1024];
            snprintf(cmd, sizeof(cmd), "exec %s %s", wrapper, CSRD_BIN);
            execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        } else {
            execl(CSRD_BIN, CSRD_BIN, (char *)NULL);
        }
        perror("exec " CSRD_BIN);
        _exit(127);
    }
    int failures_before = check_failures;
    for (int i = 0; i < 600; i++) { /* 30 s: slow under valgrind */
        quiet++;
        struct resp *r = req_raw("GET", "/healthz", NULL, NULL, 0, NULL, false);
        quiet--;
        if (r->status == 200) {
            check_failures = failures_before; /* refusals while it started do not count */
            struct resp *s = req_raw("GET", "/v1/openapi.json", NULL, NULL, 0, NULL, false);
            json_decref(spec);
            spec = s->json ? json_incref(s->json) : NULL;
            if (!spec) {
                fprintf(stderr, "GET /v1/openapi.json did not return JSON\n");
                exit(2);
            }
            return;
        }
        int status;
        if (waitpid(server_pid, &status, WNOHANG) == server_pid) {
            fprintf(stderr, "csrd exited during start-up (status %d)\n", status);
            exit(2);
        }
        usleep(50000);
    }
    fprintf(stderr, "csrd did not become healthy within 30 s\n");
    exit(2);
}

struct resp *req_via(const char *base_url, const char *method, const char *path, const char *token,
                     const char *body)
{
    char saved[sizeof(bases[0])];
    snprintf(saved, sizeof(saved), "%s", base);
    snprintf(base, sizeof(bases[0]), "%s", base_url);
    struct resp *r = req(method, path, token, body, NULL);
    snprintf(base, sizeof(bases[0]), "%s", saved);
    return r;
}

void server_signal(int sig)
{
    if (server_pid > 0)
        kill(server_pid, sig);
}

void server_stop(void)
{
    if (server_pid <= 0)
        return;
    kill(server_pid, SIGTERM);
    int status = 0;
    waitpid(server_pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "csrd did not exit cleanly on SIGTERM (status %d)\n", status);
        check_failures++;
    }
    server_pid = 0;
}

int server_connect(void)
{
    int port = atoi(strrchr(server_base(), ':') + 1);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        check_failures++;
        fprintf(stderr, "server_connect: cannot connect to port %d\n", port);
    }
    return fd;
}

const char *db_scalar(const char *sql, const char *param)
{
    static char out[8192];
    out[0] = '\0';
    PGconn *c = PQconnectdb(getenv("DATABASE_URL"));
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "db_scalar: %s", PQerrorMessage(c));
        check_failures++;
        PQfinish(c);
        return out;
    }
    const char *params[] = {param};
    PGresult *res = PQexecParams(c, sql, param ? 1 : 0, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        fprintf(stderr, "db_scalar: %s: %s", sql, PQresultErrorMessage(res));
        check_failures++;
    } else if (st == PGRES_TUPLES_OK && PQntuples(res) > 0 && !PQgetisnull(res, 0, 0)) {
        snprintf(out, sizeof(out), "%s", PQgetvalue(res, 0, 0));
    }
    PQclear(res);
    PQfinish(c);
    return out;
}

int harness_main(int argc, char **argv)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    curl = curl_easy_init();
    server_start(NULL);
    int rc = check_main(argc, argv);
    server_select(1);
    server_stop();
    server_select(0);
    server_stop();
    if (check_failures && rc == 0)
        rc = 1;
    curl_easy_cleanup(curl);
    for (struct resp_node *n = all_resps; n;) {
        struct resp_node *next = n->next;
        free(n->r.body);
        free(n->r.headers);
        json_decref(n->r.json);
        free(n);
        n = next;
    }
    json_decref(spec);
    curl_global_cleanup();
    return rc;
}
