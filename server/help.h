/* `csrd --help` and `csrd --version`. */
#ifndef CSRD_HELP_H
#define CSRD_HELP_H
#include <stdio.h>

/* The manual: commands, flags, every environment variable with its default, exit status. */
void help_print(FILE *out);

/* "csrd VERSION" (the project version from CMake, also the spec's info.version). */
void version_print(FILE *out);
#endif
