/* One fprintf per line (stdio locks the stream), so lines from worker threads never mix. */
#include "log.h"
#include "util/timefmt.h"
#include <stdarg.h>
#include <stdio.h>

void log_msg(enum log_level level, const char *fmt, ...)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    if (level > cfg->log_level)
        return;
    char ts[48], line[2048];
    time_format_ms(time_now_ms(), ts);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s %s %s\n", ts, names[level], line);
}
