/* Line-oriented logging to stderr, one line per event, filtered by CSRD_LOG_LEVEL. Never
 * pass secrets (tokens, Authorization headers, connection strings with passwords). */
#ifndef CSRD_LOG_H
#define CSRD_LOG_H
#include "config.h"

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#endif
