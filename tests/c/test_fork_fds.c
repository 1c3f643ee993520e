/*
 * fork(): the child's own descriptors are never touched. A child that first closes what it
 * inherited (the classic daemon step: close every fd >= 3) and opens files of its own must find
 * them intact after its first call (A) or after freeing the client without a call (B): the
 * library closes only the descriptors that still refer to the parent's sockets.
 */
#include "ga_test.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define NFILES 64

/* Child side: daemon-style fd clean-up, then files of its own, then `use`; returns how many of
 * the child's own descriptors were found closed afterwards. */
static int child_run(ga_client *c, int do_call)
{
    int fds[NFILES];
    struct stat before[NFILES];
    int i;
    int lost = 0;
    for (i = 3; i < 1024; i++) {
        close(i);
    }
    for (i = 0; i < NFILES; i++) {
        fds[i] = open("/dev/null", O_WRONLY);
        if (fds[i] >= 0) {
            fstat(fds[i], &before[i]);
        }
    }
    if (do_call) {
        ga_result *r = ga_get_avatar(c, "79001234567@c.us");
        if (r->code != GA_OK) {
            fprintf(stderr, "child call failed: %u %s\n", (unsigned)r->code,
                    r->message ? r->message : "-");
        }
        ga_result_free(r);
    } else {
        ga_client_free(c);
    }
    for (i = 0; i < NFILES; i++) {
        struct stat now;
        if (fds[i] < 0) {
            continue;
        }
        if (fstat(fds[i], &now) != 0) {
            fprintf(stderr, "child: its own file on fd %d was closed by the library\n", fds[i]);
            lost++;
        } else if (now.st_dev != before[i].st_dev || now.st_ino != before[i].st_ino) {
            fprintf(stderr, "child: fd %d was /dev/null, is now %s (the library closed it and "
                    "reused the number)\n", fds[i], S_ISSOCK(now.st_mode) ? "a socket" : "another file");
            lost++;
        }
    }
    return lost;
}

static int scenario(const char *url, int do_call)
{
    ga_client_options o = ga_test_options(url);
    ga_client *c = ga_client_new_with_options(ga_test_id(), ga_test_token(), &o, NULL);
    ga_result *r;
    pid_t pid;
    int status = 0;
    if (c == NULL) {
        fprintf(stderr, "client not made\n");
        return -1;
    }
    /* A pooled keep-alive connection: its socket is what the child later "abandons". */
    r = ga_get_avatar(c, "79001234567@c.us");
    CHECKF(r->code == GA_OK, "warm-up call: %u", (unsigned)r->code);
    ga_result_free(r);
    fflush(NULL);
    pid = fork();
    if (pid == 0) {
        int lost = child_run(c, do_call);
        _exit(lost > 0 ? 1 : 0);
    }
    waitpid(pid, &status, 0);
    ga_client_free(c);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
}

int main(void)
{
    const char *url = ga_test_url();
    int a = scenario(url, 1);
    int b = scenario(url, 0);
    CHECKF(a == 0, "A: the child's first call closed a descriptor the child owns (exit %d)", a);
    CHECKF(b == 0, "B: ga_client_free in the child closed a descriptor the child owns (exit %d)", b);
    return ga_test_done("test_fork_fds");
}
