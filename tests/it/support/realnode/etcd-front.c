/* The entry point of the real-node fixture's etcd image (tests/it/support/realnode): runs Debian's etcd 3.4
 * (/usr/local/bin/etcd-3.4) with the flags of the manifest kubeadm 1.33 writes, two of them renamed to 3.4's
 * spelling and its metrics listener moved from port 2381 to 2391, and answers the manifest's probes on
 * 127.0.0.1:2381 (/livez, /readyz: 3.4 has only /health) from etcd's own /health on the moved port. Signals
 * are passed on to etcd; it exits with etcd's status. Built with `gcc -static` at test time. */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile pid_t child;
static volatile int child_done, child_status;

static void forward(int sig) {
    if (child > 0)
        kill(child, sig);
}

static void on_child(int sig) {
    (void)sig;
    int status;
    if (waitpid(child, &status, WNOHANG) == child) {
        child_status = status;
        child_done = 1;
    }
}

static char *translate(const char *arg) {
    if (strcmp(arg, "--feature-gates=InitialCorruptCheck=true") == 0)
        return strdup("--experimental-initial-corrupt-check=true");
    const char *wp = "--watch-progress-notify-interval=";
    if (strncmp(arg, wp, strlen(wp)) == 0) {
        char *out = malloc(strlen(arg) + 16);
        sprintf(out, "--experimental-watch-progress-notify-interval=%s", arg + strlen(wp));
        return out;
    }
    if (strncmp(arg, "--listen-metrics-urls=", 22) == 0) {
        char *out = strdup(arg), *port;
        while ((port = strstr(out, ":2381")) != 0)
            memcpy(port, ":2391", 5);
        return out;
    }
    return strdup(arg);
}

/* 1 when etcd's /health on the moved metrics port says healthy */
static int healthy(void) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(2391);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval t = {2, 0};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &t, sizeof t);
    if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
        close(s);
        return 0;
    }
    const char *req = "GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (write(s, req, strlen(req)) < 0) {
        close(s);
        return 0;
    }
    char buf[4096];
    size_t got = 0;
    ssize_t n;
    while (got < sizeof buf - 1 && (n = read(s, buf + got, sizeof buf - 1 - got)) > 0)
        got += (size_t)n;
    buf[got] = 0;
    close(s);
    return strncmp(buf, "HTTP/1.", 7) == 0 && strncmp(buf + 9, "200", 3) == 0 && strstr(buf, "\"true\"") != 0;
}

static void answer(int c) {
    char req[2048];
    ssize_t n = read(c, req, sizeof req - 1);
    if (n <= 0)
        return;
    req[n] = 0;
    const char *reply;
    if (strncmp(req, "GET /livez", 10) != 0 && strncmp(req, "GET /readyz", 11) != 0 &&
        strncmp(req, "GET /health", 11) != 0)
        reply = "HTTP/1.0 404 Not Found\r\nContent-Length: 10\r\n\r\nnot found\n";
    else if (healthy())
        reply = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nok\n";
    else
        reply = "HTTP/1.0 503 Service Unavailable\r\nContent-Length: 12\r\n\r\nnot healthy\n";
    if (write(c, reply, strlen(reply)) < 0)
        return;
}

int main(int argc, char **argv) {
    char **args = calloc((size_t)argc + 1, sizeof *args);
    args[0] = "/usr/local/bin/etcd-3.4";
    for (int i = 1; i < argc; i++)
        args[i] = translate(argv[i]);
    struct sigaction fwd = {0}, chld = {0};
    fwd.sa_handler = forward;
    chld.sa_handler = on_child; /* no SA_RESTART: accept() returns EINTR */
    sigaction(SIGTERM, &fwd, 0);
    sigaction(SIGINT, &fwd, 0);
    sigaction(SIGCHLD, &chld, 0);
    child = fork();
    if (child == 0) {
        execv(args[0], args);
        perror("exec etcd-3.4");
        _exit(127);
    }
    int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(2381);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    while (!child_done && (bind(s, (struct sockaddr *)&a, sizeof a) != 0 || listen(s, 16) != 0))
        sleep(1);
    while (!child_done) {
        int c = accept(s, 0, 0);
        if (c < 0)
            continue;
        answer(c);
        close(c);
    }
    if (WIFEXITED(child_status))
        return WEXITSTATUS(child_status);
    return 128 + WTERMSIG(child_status);
}
