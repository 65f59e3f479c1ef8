/* Role names as the API and the database spell them. */
#include "principal.h"
#include <string.h>

static const char *const ROLE_NAMES[] = {"none", "viewer", "agent", "supervisor", "admin"};

const char *role_name(enum role r)
{
    return ROLE_NAMES[r];
}

enum role role_parse(const char *s)
{
    for (int i = ROLE_VIEWER; i <= ROLE_ADMIN; i++)
        if (s && !strcmp(s, ROLE_NAMES[i]))
            return (enum role)i;
    return ROLE_NONE;
}
