/* Tests of the database layer alone (no HTTP): sessions, the command tag of COMMIT, nested
 * transactions and the transaction runner's repeats, against the PostgreSQL named by
 * DATABASE_URL. A helper function that raises a given SQLSTATE stands in for real
 * serialization failures and deadlocks, which cannot be produced on demand. */
#include "check.h"
#include "config.h"
#include "db/db.h"
#include "util/evloop.h"
#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct db_stmt STATEMENTS[] = {
    {"raise", "SELECT csrd_test_raise($1)"},
    {"one", "SELECT 1"},
    {"count_marks", "SELECT count(*) FROM csrd_test_marks WHERE tag = $1"},
    {"mark", "INSERT INTO csrd_test_marks (tag) VALUES ($1)"},
    {"double", "SELECT $1::int * 2", NULL, DB_QUICK},
    {"quick_raise", "SELECT csrd_test_raise($1)", NULL, DB_QUICK},
    {"sleep", "SELECT pg_sleep($1::float8)"},
    {NULL, NULL}};
static const struct db_stmt *const TABLES[] = {STATEMENTS, NULL};

static void setup(void)
{
    PGconn *c = PQconnectdb(getenv("DATABASE_URL"));
    PGresult *res = PQexec(
        c, "SELECT pg_advisory_xact_lock(727001);" /* test programs run in parallel */
           " CREATE OR REPLACE FUNCTION csrd_test_raise(state text) RETURNS int"
           " LANGUAGE plpgsql AS $$ BEGIN IF state <> '' THEN RAISE EXCEPTION 'raised %', state"
           " USING ERRCODE = state; END IF; RETURN 1; END $$;"
           " CREATE TABLE IF NOT EXISTS csrd_test_marks (tag text NOT NULL);"
           " SELECT 1");
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        fprintf(stderr, "setup: %s", PQresultErrorMessage(res));
        exit(2);
    }
    PQclear(res);
    PQfinish(c);
    setenv("CSRD_DB_POOL", "3", 1); /* few, so that coroutines queue for them */
    char *argv[] = {"test_db", NULL};
    if (config_load(1, argv) < 0 || db_init(TABLES) < 0)
        exit(2);
}

static struct db_session *open_session(void)
{
    struct db_session *s = NULL;
    struct db_error err;
    CHECK(db_session_open(DB_PRIMARY, false, &s, &err) == DB_OK);
    if (!s)
        exit(2);
    return s;
}

/* Marks of this process only: the table outlives test runs. */
static const char *tag_of(const char *name)
{
    static char tags[8][96];
    static int next;
    char *t = tags[next++ % 8];
    snprintf(t, 96, "%s-%d", name, (int)getpid());
    return t;
}

static long marks(struct db_session *s, const char *tag)
{
    struct db_rows *rows;
    const char *p[] = {tag};
    if (db_exec(s, "count_marks", 1, p, &rows) != DB_OK)
        return -1;
    return strtol(db_get(rows, 0, 0), NULL, 10);
}

TEST(errors_are_classified_without_http)
{
    struct db_session *s = open_session();
    struct db_rows *rows;
    const char *p[] = {"40001"};
    CHECK(db_exec(s, "raise", 1, p, &rows) == DB_RETRY);
    CHECK_STR(db_last_error(s)->sqlstate, "40001");
    p[0] = "40P01";
    CHECK(db_exec(s, "raise", 1, p, &rows) == DB_RETRY);
    p[0] = "23514";
    CHECK(db_exec(s, "raise", 1, p, &rows) == DB_ERROR);
    CHECK_STR(db_last_error(s)->sqlstate, "23514");
    CHECK(strstr(db_last_error(s)->message, "raised 23514") != NULL);
    p[0] = "57014";
    CHECK(db_exec(s, "raise", 1, p, &rows) == DB_UNAVAILABLE);
    CHECK(db_last_error(s)->reason != NULL);
    p[0] = "";
    CHECK(db_exec(s, "raise", 1, p, &rows) == DB_OK);
    CHECK_STR(db_get(rows, 0, 0), "1");
    CHECK(db_get(rows, 0, 1) == NULL && db_get(rows, 1, 0) == NULL);
    db_session_close(s);
}

TEST(commit_of_an_aborted_transaction_is_an_error)
{
    struct db_session *s = open_session();
    struct db_rows *rows;
    const char *p[] = {"22012"};
    CHECK(db_begin(s) == DB_OK);
    CHECK(db_exec(s, "raise", 1, p, &rows) == DB_ERROR);
    /* PostgreSQL answers COMMIT of an aborted transaction with the tag ROLLBACK */
    CHECK(db_commit(s) == DB_ERROR);
    CHECK_STR(db_last_error(s)->sqlstate, "25P02");
    CHECK(!db_in_transaction(s));
    CHECK(db_exec(s, "one", 0, NULL, &rows) == DB_OK); /* the session is usable again */
    db_session_close(s);
}

struct attempts {
    int n;
    const char *fail_first; /* SQLSTATE raised on the first attempt */
    const char *tag;
    int resets;
};

static enum db_status body(struct db_session *s, void *cls)
{
    struct attempts *a = cls;
    struct db_rows *rows;
    const char *mark[] = {a->tag};
    enum db_status st = db_exec(s, "mark", 1, mark, &rows);
    if (st != DB_OK)
        return st;
    const char *p[] = {a->n++ == 0 ? a->fail_first : ""};
    return db_exec(s, "raise", 1, p, &rows);
}

static void reset(void *cls)
{
    ((struct attempts *)cls)->resets++;
}

TEST(runner_repeats_serialization_failures_and_deadlocks)
{
    struct db_session *s = open_session();
    const char *states[] = {"40001", "40P01"};
    for (int i = 0; i < 2; i++) {
        struct attempts a = {0, states[i], tag_of(i ? "runner-deadlock" : "runner-serial"), 0};
        CHECK(db_transaction(s, body, &a, 3, reset) == DB_OK);
        CHECK_INT(a.n, 2);
        CHECK_INT(a.resets, 1);
        CHECK_INT(marks(s, a.tag), 1); /* the first attempt's write was rolled back */
    }
    db_session_close(s);
}

TEST(runner_does_not_repeat_hard_errors_and_gives_up_after_the_attempts)
{
    struct db_session *s = open_session();
    struct attempts hard = {0, "23505", tag_of("runner-hard"), 0};
    CHECK(db_transaction(s, body, &hard, 3, reset) == DB_ERROR);
    CHECK_INT(hard.n, 1);
    CHECK_INT(marks(s, hard.tag), 0);

    struct attempts always = {0, "40001", tag_of("runner-always"), 0};
    /* fail_first only fails the first attempt: with one attempt allowed it is not repeated */
    CHECK(db_transaction(s, body, &always, 1, reset) == DB_RETRY);
    CHECK_INT(always.n, 1);
    CHECK_INT(marks(s, always.tag), 0);
    db_session_close(s);
}

static enum db_status outer_body(struct db_session *s, void *cls)
{
    struct attempts *inner = cls;
    struct db_rows *rows;
    const char *mark[] = {tag_of("nested-outer")};
    if (db_exec(s, "mark", 1, mark, &rows) != DB_OK)
        return DB_ERROR;
    /* a nested runner runs its body once and leaves repeats to the outermost one */
    return db_transaction(s, body, inner, 3, NULL);
}

TEST(nested_runner_leaves_repeats_to_the_outermost)
{
    struct db_session *s = open_session();
    struct attempts inner = {0, "40001", tag_of("nested-inner"), 0};
    CHECK(db_transaction(s, outer_body, &inner, 3, NULL) == DB_OK);
    CHECK_INT(inner.n, 2); /* inner once per outer attempt */
    CHECK_INT(marks(s, tag_of("nested-outer")), 1);
    CHECK_INT(marks(s, inner.tag), 1);
    db_session_close(s);
}

/* ---- coroutines on an event loop, as csrd's workers run requests (CSRD_IO=events) ---- */

static void run_until_idle(struct evloop *l)
{
    int64_t end = ev_now_us() + 20 * 1000000;
    while (evloop_active(l) > 0 && ev_now_us() < end)
        evloop_run(l, 50);
}

struct lookup {
    int n;
    bool fail; /* run the quick statement that raises 22012 first */
    enum db_status st, st_fail, st_after;
    char result[16], state[6];
};

static void lookup(void *arg)
{
    struct lookup *k = arg;
    struct db_session *s = NULL;
    struct db_error err;
    if (db_session_open(DB_PRIMARY, true, &s, &err) != DB_OK) {
        k->st = DB_UNAVAILABLE;
        return;
    }
    struct db_rows *rows;
    char n[16];
    snprintf(n, sizeof(n), "%d", k->n);
    const char *p[] = {n};
    if (k->fail) {
        const char *q[] = {"22012"};
        k->st_fail = db_exec(s, "quick_raise", 1, q, &rows);
        snprintf(k->state, sizeof(k->state), "%s", db_last_error(s)->sqlstate);
    }
    k->st = db_exec(s, "double", 1, p, &rows);
    if (k->st == DB_OK)
        snprintf(k->result, sizeof(k->result), "%s", db_get(rows, 0, 0));
    k->st_after = db_exec(s, "one", 0, NULL, &rows); /* not quick: a pooled connection */
    db_session_close(s);
}

TEST(lookups_of_many_coroutines_share_the_pipeline_and_each_gets_its_own_result)
{
    struct evloop *l = evloop_new();
    CHECK(l != NULL);
    struct lookup k[40];
    for (int i = 0; i < 40; i++) {
        k[i] = (struct lookup){.n = i + 1, .fail = i % 13 == 5};
        evloop_spawn(lookup, &k[i]); /* all statements of this round go out as one batch */
    }
    run_until_idle(l);
    CHECK_INT(evloop_active(l), 0);
    for (int i = 0; i < 40; i++) {
        char want[16];
        snprintf(want, sizeof(want), "%d", 2 * (i + 1));
        CHECK_INT(k[i].st, DB_OK);
        CHECK_STR(k[i].result, want); /* results in order, none given to another */
        CHECK_INT(k[i].st_after, DB_OK);
        if (k[i].fail) { /* its error is its own; the rest of its batch ran again */
            CHECK_INT(k[i].st_fail, DB_ERROR);
            CHECK_STR(k[i].state, "22012");
        }
    }
    int size, in_use;
    long waits, failures;
    db_pool_stats(&size, &in_use, &waits, &failures);
    CHECK_INT(in_use, 0);
    db_thread_exit();
    evloop_free(l);
}

struct holder {
    const char *secs;
    enum db_status st;
    int64_t done_us;
};

static void hold(void *arg)
{
    struct holder *h = arg;
    struct db_session *s = NULL;
    struct db_error err;
    h->st = db_session_open(DB_PRIMARY, false, &s, &err);
    if (h->st != DB_OK)
        return;
    struct db_rows *rows;
    const char *p[] = {h->secs};
    h->st = db_exec(s, "sleep", 1, p, &rows);
    db_session_close(s);
    h->done_us = ev_now_us();
}

TEST(coroutines_wait_their_turn_for_a_pooled_connection_without_holding_the_thread)
{
    /* 3 connections (CSRD_DB_POOL), 9 units of work of 0.2 s: three rounds, all on one
     * thread; a wait never blocks it (else the holders could not finish) */
    struct evloop *l = evloop_new();
    struct holder h[9];
    int64_t start = ev_now_us();
    for (int i = 0; i < 9; i++) {
        h[i] = (struct holder){.secs = "0.2"};
        evloop_spawn(hold, &h[i]);
    }
    run_until_idle(l);
    for (int i = 0; i < 9; i++)
        CHECK_INT(h[i].st, DB_OK);
    int64_t took = ev_now_us() - start;
    CHECK(took >= 600000); /* never more than 3 at once; (st) no one gave up waiting */
    CHECK(h[8].done_us >= h[2].done_us); /* first come, first served */
    db_thread_exit();
    evloop_free(l);
}

int main(int argc, char **argv)
{
    setup();
    int rc = check_main(argc, argv);
    db_shutdown();
    return rc;
}
