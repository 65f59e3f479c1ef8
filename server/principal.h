/* Who is calling: an API key's id, name and role. Shared by authentication, the request
 * surface and the audit trail (events name the key as actor). */
#ifndef CSRD_PRINCIPAL_H
#define CSRD_PRINCIPAL_H

enum role { ROLE_NONE = 0, ROLE_VIEWER, ROLE_AGENT, ROLE_SUPERVISOR, ROLE_ADMIN };
const char *role_name(enum role r);
enum role role_parse(const char *s); /* ROLE_NONE when unknown or NULL */

struct principal {
    char key_id[37];
    char name[128];
    enum role role;
};
#endif
