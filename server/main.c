/* csrd: start-up and shutdown only. Order matters: configuration, migrations, the spec,
 * routes and statements, the admin key, then the listener; SIGINT/SIGTERM stop accepting,
 * let in-flight requests finish, and close the database. */
#include "auth.h"
#include "config.h"
#include "help.h"
#include "db/db.h"
#include "db/migrate.h"
#include "http/router.h"
#include "http/server.h"
#include "jobs/webhook_delivery.h"
#include "log.h"
#include "resources/api_keys.h"
#include "resources/changes.h"
#include "resources/complaints.h"
#include "resources/customers.h"
#include "resources/follow_ups.h"
#include "resources/interactions.h"
#include "resources/plumbing.h"
#include "resources/rdb.h"
#include "resources/reports.h"
#include "resources/system.h"
#include "resources/sla_calendar.h"
#include "resources/timeline.h"
#include "resources/webhooks.h"
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct route *const ROUTE_TABLES[] = {
    system_routes,     customers_routes,    api_keys_routes, interactions_routes,
    complaints_routes, follow_ups_routes,   timeline_routes, changes_routes,
    webhooks_routes,   sla_calendar_routes, reports_routes,  NULL};
static const struct db_stmt *const STATEMENT_TABLES[] = {auth_statements,
                                                         plumbing_statements,
                                                         customers_statements,
                                                         api_keys_statements,
                                                         interactions_statements,
                                                         complaints_statements,
                                                         follow_ups_statements,
                                                         timeline_statements,
                                                         changes_statements,
                                                         webhooks_statements,
                                                         webhook_delivery_statements,
                                                         sla_calendar_statements,
                                                         reports_statements,
                                                         NULL};

static int ensure_admin_key(void)
{
    struct db_error err;
    if (auth_ensure_admin(cfg->admin_token, &err) == DB_OK)
        return 0;
    log_error("cannot make sure the CSRD_ADMIN_TOKEN key exists: %s",
              err.reason ? err.reason : err.message);
    return -1;
}

/* `csrd statements`: every named statement, one per line as name TAB sql, for reading and
 * for the benchmark, which runs csrd's own SQL through pgbench. */
static int print_statements(void)
{
    for (const struct db_stmt *const *t = STATEMENT_TABLES; *t; t++)
        for (const struct db_stmt *s = *t; s->name; s++)
            printf("%s\t%s\n", s->name, s->sql);
    return 0;
}

/* `csrd routes`: every route, one per line as METHOD SPACE pattern, for the test that holds
 * the route table and the OpenAPI document to each other. */
static int print_routes(void)
{
    for (const struct route *const *t = ROUTE_TABLES; *t; t++)
        for (const struct route *r = *t; r->pattern; r++)
            printf("%s %s\n", router_method_text(r->method), r->pattern);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "statements"))
        return print_statements();
    if (argc == 2 && !strcmp(argv[1], "routes"))
        return print_routes();
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            help_print(stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--version") || !strcmp(argv[i], "-V")) {
            version_print(stdout);
            return 0;
        }
    }
    if (config_load(argc, argv) < 0)
        return 2;
    if (db_wait_reachable(cfg->database_url, cfg->db_wait_s) < 0)
        return 1;
    if (cfg->migrate || cfg->migrate_only) {
        if (db_migrate(cfg->database_url) < 0)
            return 1;
        if (cfg->migrate_only) {
            log_info("migrations applied");
            return 0;
        }
    }
    if (system_init() < 0)
        return 1;
    if (router_init(ROUTE_TABLES) < 0)
        return 1;
    if (db_init(STATEMENT_TABLES) < 0)
        return 1;
    if (plumbing_init() < 0)
        return 1;
    if (cfg->admin_token && ensure_admin_key() < 0)
        return 1;
    if (!cfg->admin_token)
        log_warn("no CSRD_ADMIN_TOKEN or CSRD_ADMIN_TOKEN_FILE: no admin key was made sure of; "
                 "the keys already in the database work as before");

    /* Block the stop signals before any thread starts, so only sigwait() below sees them. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (auth_listen_start(cfg->database_url) < 0)
        return 1;
    static const struct http_hooks hooks = {.run_idempotent = plumbing_run_idempotent,
                                            .after_handler = rdb_after_handler};
    if (http_start(&hooks) < 0)
        return 1;
    if (webhook_delivery_start() < 0)
        return 1;
    int sig = 0;
    sigwait(&stop, &sig);
    if (cfg->drain_s > 0) {
        /* Load balancers see /readyz fail and take this instance out while it still answers
         * what they send meanwhile; a second signal cuts the drain short. */
        log_info("signal %d: draining for %d s (CSRD_DRAIN_S; /readyz answers 503)", sig,
                 cfg->drain_s);
        http_drain_begin();
        struct timespec wait = {.tv_sec = cfg->drain_s};
        siginfo_t info;
        if (sigtimedwait(&stop, &info, &wait) > 0)
            log_info("signal %d: drain cut short", info.si_signo);
    }
    log_info("signal %d: finishing in-flight requests", sig);
    http_stop();
    webhook_delivery_stop();
    auth_listen_stop();
    db_shutdown();
    system_shutdown();
    log_info("stopped");
    return 0;
}
