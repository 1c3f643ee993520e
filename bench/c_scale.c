/* `make bench`, scale part: one ga_get_avatars call over N chat ids against URL at RATE per
 * second (0: pacing off); prints "ok rss_before_kib rss_after_kib peak_kib seconds": the
 * resident size before the call, after it with every result still held, and the peak. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include "greenapi.h"

static long rss_kib(void) {
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL) {
        return -1;
    }
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2) {
        resident = -1;
    }
    fclose(f);
    return resident * 4;
}

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: %s URL ID TOKEN N RATE\n", argv[0]);
        return 2;
    }
    size_t n = (size_t)strtoul(argv[4], NULL, 10);
    char *text = malloc(n * 32);
    char **ids = calloc(n, sizeof *ids);
    ga_result **results = calloc(n, sizeof *results);
    if (text == NULL || ids == NULL || results == NULL) {
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        ids[i] = text + i * 32;
        snprintf(ids[i], 32, "79%09zu@c.us", i % 1000000000u);
    }
    ga_client_options o;
    ga_client_options_init(&o, GA_CLIENT_OPTIONS_VERSION);
    o.api_url = argv[1];
    o.proxy = "";
    o.rate_limit_per_sec = atof(argv[5]);
    o.pacing = "process";
    ga_client *c = ga_client_new_with_options(argv[2], argv[3], &o, NULL);
    if (c == NULL) {
        fprintf(stderr, "%s\n", ga_last_error_message());
        return 1;
    }
    long before = rss_kib();
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (ga_get_avatars(c, (const char *const *)ids, n, results) != GA_OK) {
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long after = rss_kib();
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    size_t ok = 0;
    for (size_t i = 0; i < n; i++) {
        ok += results[i]->code == GA_OK;
    }
    printf("%zu %ld %ld %ld %.3f\n", ok, before, after, ru.ru_maxrss, (double)(t1.tv_sec - t0.tv_sec) +
           (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    ga_results_free(results, n);
    ga_client_free(c);
    free(ids);
    free(results);
    free(text);
    return 0;
}
