/* Hand-written parsers: strptime accepts too much (and depends on locale). */
#include "util/timefmt.h"
#include <stdio.h>
#include <string.h>
#include <time.h>

static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static bool ymd_valid(int y, int m, int d)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1 || m < 1 || m > 12 || d < 1)
        return false;
    int max = mdays[m - 1];
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        max = 29;
    return d <= max;
}

bool time_date_valid(const char *s)
{
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return false;
    return ymd_valid(digits(s, 4), digits(s + 5, 2), digits(s + 8, 2));
}

bool time_hhmm_valid(const char *s)
{
    if (!s || strlen(s) != 5 || s[2] != ':')
        return false;
    int h = digits(s, 2), m = digits(s + 3, 2);
    return h >= 0 && m >= 0 && m < 60 && (h < 24 || (h == 24 && m == 0));
}

bool time_rfc3339_valid(const char *s)
{
    if (!s || strlen(s) < 20 || strlen(s) > 40)
        return false;
    char date[11];
    memcpy(date, s, 10);
    date[10] = '\0';
    if (!time_date_valid(date) || (s[10] != 'T' && s[10] != 't' && s[10] != ' '))
        return false;
    const char *t = s + 11;
    if (t[2] != ':' || t[5] != ':')
        return false;
    int h = digits(t, 2), mi = digits(t + 3, 2), se = digits(t + 6, 2);
    if (h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 60)
        return false;
    t += 8;
    if (*t == '.') {
        t++;
        int n = 0;
        while (*t >= '0' && *t <= '9')
            t++, n++;
        if (n == 0 || n > 9)
            return false;
    }
    if ((*t == 'Z' || *t == 'z') && t[1] == '\0')
        return true;
    if ((*t == '+' || *t == '-') && strlen(t) == 6 && t[3] == ':') {
        int oh = digits(t + 1, 2), om = digits(t + 4, 2);
        return oh >= 0 && oh <= 23 && om >= 0 && om <= 59;
    }
    return false;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (Howard Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

bool time_rfc3339_to_ms(const char *s, int64_t *ms)
{
    if (!time_rfc3339_valid(s))
        return false;
    int64_t days = days_from_civil(digits(s, 4), digits(s + 5, 2), digits(s + 8, 2));
    int64_t secs = days * 86400 + (int64_t)digits(s + 11, 2) * 3600 +
                   (int64_t)digits(s + 14, 2) * 60 + digits(s + 17, 2);
    const char *t = s + 19;
    int64_t frac = 0;
    if (*t == '.') {
        int n = 0;
        for (t++; *t >= '0' && *t <= '9'; t++, n++)
            if (n < 3)
                frac = frac * 10 + (*t - '0');
        for (; n < 3; n++)
            frac *= 10;
    }
    if (*t == '+' || *t == '-') {
        int64_t off = (int64_t)digits(t + 1, 2) * 3600 + (int64_t)digits(t + 4, 2) * 60;
        secs += *t == '+' ? -off : off;
    }
    *ms = secs * 1000 + frac;
    return true;
}

uint64_t time_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t time_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

void time_format_ms(uint64_t ms, char out[48])
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(out, 48, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(ms % 1000));
}
