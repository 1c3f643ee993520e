/*
 * The floor: one kept-alive TCP connection, a hand-written HTTP/1.1 request in one write, the
 * answer's head read up to its blank line and its body by Content-Length. No TLS, no checks a
 * client needs: the least any HTTP client can do for one call.
 *
 *   floor calls HOST PORT WARMUP CALLS
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"

static char buf[65536];
static size_t have;

static void exchange(int fd, const char *req, size_t req_len)
{
    size_t head_end = 0, len = 0, need;
    const char *cl;
    if (write(fd, req, req_len) != (ssize_t)req_len) {
        bench_die("write");
    }
    have = 0;
    for (;;) {
        ssize_t n = read(fd, buf + have, sizeof buf - have - 1);
        char *end;
        if (n <= 0) {
            bench_die("read");
        }
        have += (size_t)n;
        buf[have] = '\0';
        end = strstr(buf, "\r\n\r\n");
        if (end != NULL) {
            head_end = (size_t)(end - buf) + 4;
            break;
        }
    }
    cl = strcasestr(buf, "\r\ncontent-length:");
    if (cl == NULL || cl > buf + head_end) {
        bench_die("no content-length");
    }
    len = (size_t)strtoul(cl + 17, NULL, 10);
    need = head_end + len;
    while (have < need) {
        ssize_t n = read(fd, buf + have, sizeof buf - have - 1);
        if (n <= 0) {
            bench_die("read body");
        }
        have += (size_t)n;
    }
    if (strncmp(buf + head_end, "{\"existsWhatsapp\":true", 22) != 0) {
        bench_die("unexpected answer");
    }
}

int main(int argc, char **argv)
{
    static const char body[] = "{\"chatId\":\"" BENCH_CHAT "\"}";
    char req[1024];
    struct sockaddr_in a;
    int fd, one = 1, req_len;
    long warmup, calls, i;
    double t0;

    if (argc < 6 || strcmp(argv[1], "calls") != 0) {
        bench_die("usage: floor calls HOST PORT WARMUP CALLS");
    }
    warmup = atol(argv[4]);
    calls = atol(argv[5]);
    req_len = snprintf(req, sizeof req,
                       "POST /waInstance" BENCH_ID "/getAvatar/" BENCH_TOKEN " HTTP/1.1\r\n"
                       "host: %s:%s\r\ncontent-type: application/json\r\n"
                       "content-length: %zu\r\n\r\n%s",
                       argv[2], argv[3], sizeof body - 1, body);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)atoi(argv[3]));
    if (inet_pton(AF_INET, argv[2], &a.sin_addr) != 1) {
        bench_die("host must be an IPv4 address");
    }
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        bench_die("connect");
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    for (i = 0; i < warmup; i++) {
        exchange(fd, req, (size_t)req_len);
    }
    t0 = bench_now_us();
    for (i = 0; i < calls; i++) {
        exchange(fd, req, (size_t)req_len);
    }
    bench_report((bench_now_us() - t0) / (double)calls, 0, calls, 0);
    close(fd);
    return 0;
}
