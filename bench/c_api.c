/*
 * The C API rows: sequential ga_get_avatar calls on one client (kept alive), or client
 * creation, or a new client's first call (connection and TLS handshake included).
 *
 *   c_api calls|first|create URL WARMUP CALLS [CA_FILE|-] [PROXY|-]
 */
#include "bench.h"
#include "greenapi.h"

static ga_client *make(const char *url, const char *ca, const char *proxy)
{
    ga_client_options o;
    ga_code code = GA_OK;
    ga_client *c;
    ga_client_options_init(&o, GA_CLIENT_OPTIONS_VERSION);
    o.api_url = url;
    o.rate_limit_per_sec = 0;
    o.max_retries = 0;
    o.proxy = proxy != NULL ? proxy : "";
    o.ca_file = ca;
    o.allow_insecure_http = true;
    c = ga_client_new_with_options(BENCH_ID, BENCH_TOKEN, &o, &code);
    if (c == NULL) {
        fprintf(stderr, "bench: client: %s\n", ga_last_error_message());
        exit(1);
    }
    return c;
}

static void call(const ga_client *c)
{
    ga_result *r = ga_get_avatar(c, BENCH_CHAT);
    if (r->code != GA_OK || r->exists_whatsapp != 1) {
        fprintf(stderr, "bench: call: %s\n", r->message != NULL ? r->message : "?");
        exit(1);
    }
    ga_result_free(r);
}

int main(int argc, char **argv)
{
    const char *mode, *url, *ca = NULL, *proxy = NULL;
    long warmup, calls, i;
    double t0, t, max_us = 0;
    long slow = 0;
    ga_client *c;

    if (argc < 5) {
        bench_die("usage: c_api calls|first|create URL WARMUP CALLS [CA_FILE|-] [PROXY|-]");
    }
    mode = argv[1];
    url = argv[2];
    warmup = atol(argv[3]);
    calls = atol(argv[4]);
    if (argc > 5 && strcmp(argv[5], "-") != 0) {
        ca = argv[5];
    }
    if (argc > 6 && strcmp(argv[6], "-") != 0) {
        proxy = argv[6];
    }
    if (strcmp(mode, "calls") == 0) {
        c = make(url, ca, proxy);
        for (i = 0; i < warmup; i++) {
            call(c);
        }
        t0 = bench_now_us();
        for (i = 0; i < calls; i++) {
            /* The slowest call is tracked only through a proxy, where a stall is the question. */
            if (proxy != NULL) {
                double s = bench_now_us();
                call(c);
                s = bench_now_us() - s;
                max_us = s > max_us ? s : max_us;
                slow += s > 10000;
            } else {
                call(c);
            }
        }
        t = bench_now_us() - t0;
        ga_client_free(c);
    } else if (strcmp(mode, "first") == 0 || strcmp(mode, "create") == 0) {
        int first = strcmp(mode, "first") == 0;
        for (i = 0; i < warmup; i++) {
            c = make(url, ca, proxy);
            if (first) {
                call(c);
            }
            ga_client_free(c);
        }
        t = 0;
        for (i = 0; i < calls; i++) {
            double s = bench_now_us();
            c = make(url, ca, proxy);
            if (first) {
                call(c);
            }
            s = bench_now_us() - s;
            t += s;
            max_us = s > max_us ? s : max_us;
            ga_client_free(c);
        }
    } else {
        bench_die("unknown mode");
    }
    bench_report(t / (double)calls, max_us, calls, slow);
    return 0;
}
