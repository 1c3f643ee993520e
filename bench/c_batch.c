/* `make bench`, latency part: one ga_get_avatars call over N chat ids with the default options
 * (10 per second, max_in_flight 64) against URL; prints "ok failed". */
#include <stdio.h>
#include <stdlib.h>

#include "greenapi.h"

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s URL ID TOKEN N\n", argv[0]);
        return 2;
    }
    size_t n = (size_t)strtoul(argv[4], NULL, 10);
    char **ids = calloc(n, sizeof *ids);
    ga_result **results = calloc(n, sizeof *results);
    if (ids == NULL || results == NULL) {
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        ids[i] = malloc(32);
        if (ids[i] == NULL) {
            return 1;
        }
        snprintf(ids[i], 32, "7955%07zu@c.us", i);
    }
    ga_client_options o;
    ga_client_options_init(&o, GA_CLIENT_OPTIONS_VERSION);
    o.api_url = argv[1];
    o.proxy = "";
    ga_client *c = ga_client_new_with_options(argv[2], argv[3], &o, NULL);
    if (c == NULL) {
        fprintf(stderr, "%s\n", ga_last_error_message());
        return 1;
    }
    if (ga_get_avatars(c, (const char *const *)ids, n, results) != GA_OK) {
        return 1;
    }
    size_t ok = 0;
    for (size_t i = 0; i < n; i++) {
        ok += results[i]->code == GA_OK;
    }
    printf("%zu %zu\n", ok, n - ok);
    ga_results_free(results, n);
    ga_client_free(c);
    for (size_t i = 0; i < n; i++) {
        free(ids[i]);
    }
    free(ids);
    free(results);
    return 0;
}
