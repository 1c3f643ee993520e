/*
 * A process of a deployment, for bindings/python/tests/test_deployment.py: N GetAvatar calls
 * with the default options (host pacing, 10 per second) but max_retries 0, after forking
 * FORKS children that make N calls each too. Prints "ok=<n> rate_limited=<n> other=<n>
 * pacing=<in force>" for itself (each child prints its own line) and exits 0 when every call of
 * this process had an answer. PACE_PACING, when set, is the pacing option.
 *
 *     pace_calls URL ID TOKEN N [FORKS]
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "greenapi.h"

static int calls(ga_client *client, int n)
{
    int ok = 0, limited = 0, other = 0, i;
    char chat_id[32];
    for (i = 0; i < n; i++) {
        ga_result *r;
        snprintf(chat_id, sizeof chat_id, "7900%07d@c.us", (int)getpid() % 1000 * 100 + i);
        r = ga_get_avatar(client, chat_id);
        if (r->code == GA_OK) {
            ok++;
        } else if (r->code == GA_RATE_LIMITED) {
            limited++;
        } else {
            other++;
            fprintf(stderr, "pace_calls: %s\n", r->message);
        }
        ga_result_free(r);
    }
    printf("ok=%d rate_limited=%d other=%d pacing=%s\n", ok, limited, other,
           ga_client_pacing(client));
    fflush(stdout);
    return ok == n ? 0 : 1;
}

int main(int argc, char **argv)
{
    ga_client_options o;
    ga_client *client;
    ga_code code = GA_OK;
    int n, forks, i, status = 0;
    if (argc < 5) {
        fprintf(stderr, "usage: pace_calls URL ID TOKEN N [FORKS]\n");
        return 2;
    }
    n = atoi(argv[4]);
    forks = argc > 5 ? atoi(argv[5]) : 0;
    if (ga_client_options_init(&o, GA_CLIENT_OPTIONS_VERSION) != GA_OK) {
        return 2;
    }
    o.api_url = argv[1];
    o.proxy = "";
    o.max_retries = 0;
    o.pacing = getenv("PACE_PACING");
    client = ga_client_new_with_options(argv[2], argv[3], &o, &code);
    if (client == NULL) {
        fprintf(stderr, "pace_calls: %s\n", ga_last_error_message());
        return 2;
    }
    if (forks > 0) {
        /* Not counted: it leaves a pooled connection and a taken turn behind for the children
         * to inherit. */
        ga_result_free(ga_get_avatar(client, "79000000000@c.us"));
    }
    for (i = 0; i < forks; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            int rc = calls(client, n);
            ga_client_free(client);
            _exit(rc);
        }
    }
    status = calls(client, n);
    for (i = 0; i < forks; i++) {
        int child = 0;
        if (wait(&child) < 0 || !WIFEXITED(child) || WEXITSTATUS(child) != 0) {
            status = 1;
        }
    }
    ga_client_free(client);
    return status;
}
