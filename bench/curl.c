/*
 * libcurl as a C programmer writes it by hand: one easy handle reused for every call (so one
 * kept-alive connection), the answer collected by a write callback. "first": a new handle per
 * call, so each call connects (and shakes hands over TLS) afresh.
 *
 *   curl calls|first URL WARMUP CALLS [CA_FILE|-]
 */
#include <curl/curl.h>

#include "bench.h"

struct answer {
    char data[4096];
    size_t len;
};

static size_t collect(char *p, size_t size, size_t n, void *userdata)
{
    struct answer *a = userdata;
    size_t len = size * n;
    if (a->len + len < sizeof a->data) {
        memcpy(a->data + a->len, p, len);
        a->len += len;
    }
    return len;
}

static CURL *make(const char *url, const char *ca, struct curl_slist *headers, struct answer *a)
{
    static const char body[] = "{\"chatId\":\"" BENCH_CHAT "\"}";
    CURL *h = curl_easy_init();
    if (h == NULL) {
        bench_die("curl_easy_init");
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, a);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    if (ca != NULL) {
        curl_easy_setopt(h, CURLOPT_CAINFO, ca);
    }
    return h;
}

static void call(CURL *h, struct answer *a)
{
    long status = 0;
    CURLcode rc;
    a->len = 0;
    rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK || status != 200 || a->len < 22 ||
        strncmp(a->data, "{\"existsWhatsapp\":true", 22) != 0) {
        fprintf(stderr, "bench: curl: %s (HTTP %ld)\n", curl_easy_strerror(rc), status);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    static struct answer a;
    const char *mode, *ca = NULL;
    char url[512];
    long warmup, calls, i;
    double t0, t = 0, max_us = 0;
    struct curl_slist *headers;
    CURL *h;

    if (argc < 5) {
        bench_die("usage: curl calls|first URL WARMUP CALLS [CA_FILE|-]");
    }
    mode = argv[1];
    snprintf(url, sizeof url, "%s/waInstance" BENCH_ID "/getAvatar/" BENCH_TOKEN, argv[2]);
    warmup = atol(argv[3]);
    calls = atol(argv[4]);
    if (argc > 5 && strcmp(argv[5], "-") != 0) {
        ca = argv[5];
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    headers = curl_slist_append(NULL, "Content-Type: application/json");
    if (strcmp(mode, "calls") == 0) {
        h = make(url, ca, headers, &a);
        for (i = 0; i < warmup; i++) {
            call(h, &a);
        }
        t0 = bench_now_us();
        for (i = 0; i < calls; i++) {
            call(h, &a);
        }
        t = bench_now_us() - t0;
        curl_easy_cleanup(h);
    } else if (strcmp(mode, "first") == 0) {
        for (i = 0; i < warmup + calls; i++) {
            double s = bench_now_us();
            h = make(url, ca, headers, &a);
            call(h, &a);
            s = bench_now_us() - s;
            if (i >= warmup) {
                t += s;
                max_us = s > max_us ? s : max_us;
            }
            curl_easy_cleanup(h);
        }
    } else {
        bench_die("unknown mode");
    }
    curl_slist_free_all(headers);
    curl_global_cleanup();
    bench_report(t / (double)calls, max_us, calls, 0);
    return 0;
}
