/*
 * Pacing: with rate_limit_per_sec = 5, six calls need at least five intervals of 200 ms.
 * Only a lower bound is checked (an upper bound would flake on a loaded machine).
 */
#include "ga_test.h"

#include <pthread.h>

static ga_client *g_client;

static void *one_call(void *arg)
{
    ga_result *r = ga_get_avatar(g_client, (const char *)arg);
    int ok = r != NULL && r->code == GA_OK;
    ga_result_free(r);
    return ok ? arg : NULL;
}

int main(void)
{
    const char *url = ga_test_url();
    ga_client_options o = ga_test_options(url);
    double t0, elapsed;
    int i;

    o.rate_limit_per_sec = 5.0;
    g_client = ga_client_new_with_options(ga_test_id(), ga_test_token(), &o, NULL);
    CHECK(g_client != NULL);
    if (g_client == NULL) {
        return ga_test_done("test_pacing");
    }

    /* one thread, six calls */
    t0 = ga_now();
    for (i = 0; i < 6; i++) {
        ga_result *r = ga_get_avatar(g_client, "79001234567@c.us");
        CHECK(r != NULL);
        if (r != NULL) {
            CHECKF(r->code == GA_OK, "call %d: %u %s", i, (unsigned)r->code,
                   r->message ? r->message : "");
            ga_result_free(r);
        }
    }
    elapsed = ga_now() - t0;
    CHECKF(elapsed >= 1.0, "6 calls at 5/s took %.3fs, want >= 1.0s", elapsed);
    printf("test_pacing: 6 sequential calls at 5/s took %.3fs\n", elapsed);

    /* six threads at once share the same pacing; after an idle pause the first goes at once */
    {
        pthread_t th[6];
        static char ids[6][32];
        int started[6];
        struct timespec pause = {0, 300000000L};
        nanosleep(&pause, NULL);
        t0 = ga_now();
        for (i = 0; i < 6; i++) {
            snprintf(ids[i], sizeof ids[i], "7900555%04d@c.us", i);
            started[i] = pthread_create(&th[i], NULL, one_call, ids[i]) == 0;
            CHECK(started[i]);
        }
        for (i = 0; i < 6; i++) {
            void *ret = NULL;
            if (started[i]) {
                CHECK(pthread_join(th[i], &ret) == 0);
                CHECKF(ret != NULL, "thread %d: call failed", i);
            }
        }
        elapsed = ga_now() - t0;
        CHECKF(elapsed >= 1.0, "6 concurrent calls at 5/s took %.3fs, want >= 1.0s", elapsed);
        printf("test_pacing: 6 concurrent calls at 5/s took %.3fs\n", elapsed);
    }
    ga_client_free(g_client);
    return ga_test_done("test_pacing");
}
