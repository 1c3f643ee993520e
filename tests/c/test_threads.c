/*
 * 8 threads share one client, 25 calls each: OK ids of both shapes and a few error ids.
 * Every result is checked and freed. Run under ASan/UBSan and valgrind by the Makefile.
 */
#include "ga_test.h"

#include <pthread.h>

#define THREADS 8
#define CALLS 25

static ga_client *g_client;
static const char *g_token;

struct worker {
    int index;
    int checks;
    int failures;
    char first_failure[256];
};

static void note(struct worker *w, int ok, const char *fmt, const char *a, unsigned b)
{
    w->checks++;
    if (!ok) {
        if (w->failures == 0) {
            snprintf(w->first_failure, sizeof w->first_failure, fmt, a, b);
        }
        w->failures++;
    }
}

static void *run(void *arg)
{
    struct worker *w = (struct worker *)arg;
    int i;
    for (i = 0; i < CALLS; i++) {
        char chat[64];
        ga_code want = GA_OK;
        int kind = (w->index * CALLS + i) % 10;
        ga_result *r;
        switch (kind) {
        case 0:
            snprintf(chat, sizeof chat, "120363%06d%04d@g.us", w->index, i);
            break;
        case 1:
            snprintf(chat, sizeof chat, "1206503%04d%04d@lid", w->index, i);
            break;
        case 2:
            snprintf(chat, sizeof chat, "+7900%03d%04d", w->index, i);
            break;
        case 3:
            snprintf(chat, sizeof chat, "status-404@c.us");
            want = GA_NOT_FOUND;
            break;
        case 4:
            snprintf(chat, sizeof chat, "garbage@c.us");
            want = GA_BAD_RESPONSE;
            break;
        case 5:
            snprintf(chat, sizeof chat, "not a chat id");
            want = GA_INVALID_ARGUMENT;
            break;
        case 6:
            snprintf(chat, sizeof chat, "status-418@c.us");
            want = GA_HTTP_STATUS;
            break;
        default:
            snprintf(chat, sizeof chat, "7900%03d%04d@c.us", w->index, i);
            break;
        }
        r = ga_get_avatar(g_client, chat);
        note(w, r != NULL, "%s: NULL result%u", chat, 0);
        if (r == NULL) {
            continue;
        }
        note(w, r->code == want, "%s: code %u", chat, (unsigned)r->code);
        note(w, r->url_avatar != NULL, "%s: url NULL %u", chat, 0);
        if (want == GA_OK) {
            note(w, r->message == NULL, "%s: OK with message %u", chat, 0);
            note(w, r->url_avatar != NULL && strstr(r->url_avatar, "pps.whatsapp.net") != NULL,
                 "%s: url missing %u", chat, 0);
            note(w, r->attempts == 1, "%s: attempts %u", chat, (unsigned)r->attempts);
        } else {
            note(w, r->message != NULL, "%s: no message %u", chat, 0);
            note(w, r->message == NULL || strstr(r->message, g_token) == NULL,
                 "%s: token in message %u", chat, 0);
        }
        ga_result_free(r);
    }
    return NULL;
}

int main(void)
{
    const char *url = ga_test_url();
    ga_client_options o = ga_test_options(url);
    pthread_t threads[THREADS];
    struct worker workers[THREADS];
    int started[THREADS];
    int i;

    g_token = ga_test_token();
    o.max_retries = 0;
    g_client = ga_client_new_with_options(ga_test_id(), g_token, &o, NULL);
    CHECK(g_client != NULL);
    if (g_client == NULL) {
        return ga_test_done("test_threads");
    }
    for (i = 0; i < THREADS; i++) {
        memset(&workers[i], 0, sizeof workers[i]);
        workers[i].index = i;
        started[i] = pthread_create(&threads[i], NULL, run, &workers[i]) == 0;
        CHECKF(started[i], "pthread_create %d", i);
    }
    for (i = 0; i < THREADS; i++) {
        if (started[i]) {
            CHECK(pthread_join(threads[i], NULL) == 0);
            ga_checks += workers[i].checks;
            ga_failures += workers[i].failures;
            CHECKF(workers[i].checks >= CALLS * 4, "thread %d made only %d checks", i,
                   workers[i].checks);
            if (workers[i].failures != 0) {
                fprintf(stderr, "FAIL thread %d: %d failures, first: %s\n", i,
                        workers[i].failures, workers[i].first_failure);
            }
        }
    }
    ga_client_free(g_client);
    return ga_test_done("test_threads");
}
