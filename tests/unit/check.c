/* Test registry and runner for check.h. */
#include "check.h"

int check_failures;
static struct test_case cases[512];
static int ncases;

void check_register(const char *name, void (*fn)(void))
{
    if (ncases < 512)
        cases[ncases++] = (struct test_case){name, fn};
}

int check_main(int argc, char **argv)
{
    int ran = 0;
    for (int i = 0; i < ncases; i++) {
        if (argc > 1 && strcmp(argv[1], cases[i].name) != 0)
            continue;
        int before = check_failures;
        cases[i].fn();
        fprintf(stderr, "%s %s\n", check_failures == before ? "ok  " : "FAIL", cases[i].name);
        ran++;
    }
    if (ran == 0) {
        fprintf(stderr, "no test named %s\n", argc > 1 ? argv[1] : "(any)");
        return 2;
    }
    return check_failures ? 1 : 0;
}
