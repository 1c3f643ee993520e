/*
 * Shared by the C rows of the benchmark: a monotonic clock, peak RSS, and the one JSON line
 * each row prints for bench/run.py.
 */
#ifndef BENCH_H
#define BENCH_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BENCH_ID "1101000001"
#define BENCH_TOKEN "d75b3a66374942c5b3c019c698abc2067e151558acbd4123"
#define BENCH_CHAT "79001234567@c.us"

static double bench_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* Peak RSS of this program (VmHWM). Not getrusage's ru_maxrss: Linux carries the peak of the
 * process image that exec replaced (here the Python driver's fork) into it. */
static long bench_rss_kib(void)
{
    char line[256];
    long kib = -1;
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL) {
        return -1;
    }
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "VmHWM:", 6) == 0) {
            kib = atol(line + 6);
        }
    }
    fclose(f);
    return kib;
}

/* us: mean per timed call; max_us: slowest timed call and slow: calls over 10 ms (both 0 when
 * not tracked). */
static void bench_report(double us, double max_us, long calls, long slow)
{
    printf("{\"us\": %.3f, \"max_us\": %.1f, \"calls\": %ld, \"slow\": %ld, \"rss_kib\": %ld}\n",
           us, max_us, calls, slow, bench_rss_kib());
}

static void bench_die(const char *what)
{
    fprintf(stderr, "bench: %s\n", what);
    exit(1);
}

#endif
