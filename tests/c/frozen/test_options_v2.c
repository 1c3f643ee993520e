/*
 * A program built against the version 2 header (greenapi_v2.h, frozen: the last before
 * `pacing` was appended) and linked to the current library: the library must write and read no
 * byte of the options struct beyond the end of version 2's last field, and such a client gets
 * the default pacing.
 *
 * The struct lives in a heap block of exactly that size, so valgrind (and ASan, for accesses it
 * instruments) catches a single byte written or read past it. ASan does not see the library's
 * own stores (Rust code is not instrumented), so the same init is also done in a larger buffer
 * whose bytes after version 1's end must stay untouched. Self-contained on purpose: the shared
 * test helpers follow the current header, this program must keep compiling against the old one.
 */
#define _POSIX_C_SOURCE 200809L

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "greenapi_v2.h"

#define V2_SIZE (offsetof(ga_client_options, max_in_flight) + sizeof(uint32_t))

static int checks = 0;
static int failures = 0;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        checks++;                                                                    \
        if (!(cond)) {                                                               \
            failures++;                                                              \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);          \
        }                                                                            \
    } while (0)

static const char *env(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return (v != NULL && v[0] != '\0') ? v : fallback;
}

int main(void)
{
    const char *url = getenv("GA_TEST_URL");
    const char *token = env("GA_TEST_TOKEN", "standin-token-0123456789abcdef");
    const char *id = env("GA_TEST_ID", "1101000001");
    ga_client_options *o;
    ga_client *client;
    ga_code code = 12345;

    if (url == NULL || url[0] == '\0') {
        fprintf(stderr, "GA_TEST_URL is not set: run this test through scripts/with-standin.sh\n");
        return 2;
    }
    CHECK(GA_CLIENT_OPTIONS_VERSION == 2);
    {
        union {
            ga_client_options o;
            unsigned char bytes[sizeof(ga_client_options) + 64];
        } buf;
        size_t i;
        int untouched = 1;
        memset(buf.bytes, 0xa5, sizeof buf.bytes);
        CHECK(ga_client_options_init(&buf.o, GA_CLIENT_OPTIONS_VERSION) == GA_OK);
        for (i = V2_SIZE; i < sizeof buf.bytes; i++) {
            untouched = untouched && buf.bytes[i] == 0xa5;
        }
        CHECK(untouched);
    }
    o = (ga_client_options *)malloc(V2_SIZE);
    if (o == NULL) {
        return 2;
    }
    memset(o, 0xa5, V2_SIZE);
    CHECK(ga_client_options_init(o, GA_CLIENT_OPTIONS_VERSION) == GA_OK);
    CHECK(o->version == 2);
    CHECK(o->api_url == NULL);
    CHECK(o->timeout_ms == 30000);
    CHECK(o->connect_timeout_ms == 10000);
    CHECK(o->max_retries == 2);
    CHECK(o->rate_limit_per_sec == 10.0);
    CHECK(o->user_agent == NULL);
    CHECK(o->ca_file == NULL);
    CHECK(o->proxy == NULL);
    CHECK(o->max_body_bytes == 1024u * 1024u);
    CHECK(o->allow_insecure_http == false);
    CHECK(o->max_in_flight == 8);

    o->api_url = url;
    o->proxy = "";
    o->rate_limit_per_sec = 0.0;
    o->user_agent = "frozen-v2-test/1.0";
    client = ga_client_new_with_options(id, token, o, &code);
    CHECK(client != NULL);
    CHECK(code == GA_OK);
    if (client != NULL) {
        ga_result *r = ga_get_avatar(client, "79001234567");
        CHECK(r != NULL);
        if (r != NULL) {
            CHECK(r->code == GA_OK);
            if (r->code != GA_OK) {
                fprintf(stderr, "  %s: %s\n", ga_code_str(r->code), r->message);
            }
            ga_result_free(r);
        }
    }
    ga_client_free(client);
    free(o);

    printf("test_options_v2: %d checks, %d failed\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
