/* RFC 3339 and date checks for input, done in C so that bad input is a field error and never
 * reaches PostgreSQL as a cast failure. */
#ifndef CSRD_TIMEFMT_H
#define CSRD_TIMEFMT_H
#include <stdbool.h>
#include <stdint.h>

/* YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM), calendar-valid. */
bool time_rfc3339_valid(const char *s);
/* YYYY-MM-DD, calendar-valid, year 1..9999. */
bool time_date_valid(const char *s);
/* HH:MM, 00:00..23:59 (24:00 allowed as an end of day). */
bool time_hhmm_valid(const char *s);
/* Unix milliseconds of a valid RFC 3339 timestamp (fraction beyond ms truncated); false
 * when s is not valid. */
bool time_rfc3339_to_ms(const char *s, int64_t *ms);
uint64_t time_now_ms(void);
/* Monotonic clock in microseconds, for latency measurement. */
uint64_t time_mono_us(void);
/* Formats unix ms as 2026-01-02T03:04:05.678Z into out[48]. */
void time_format_ms(uint64_t ms, char out[48]);
#endif
