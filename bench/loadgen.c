/*
 * tapwatch bench: UDP load generator and reference tun reader.
 *
 * Compiled by bench/run.py into a temporary directory at run time; it only
 * ever runs inside the private network namespace the benchmark creates.
 *
 *   loadgen send DST_IP PORT COUNT RATE PAYLOAD   RATE 0 = unpaced (as fast as possible)
 *       Sends COUNT UDP datagrams with PAYLOAD bytes in sendmmsg batches, paced on
 *       CLOCK_MONOTONIC so that packet i leaves no earlier than start + i/RATE.
 *       Prints one JSON line: requested, sent, errors, seconds, pps.
 *   loadgen read FD
 *       Reads the inherited tun descriptor with blocking read(2) until SIGTERM/SIGINT,
 *       then prints one JSON line with the packet and byte counts: the C reference reader.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 32

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int do_send(const char *dst, int port, long count, double rate, int payload) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    if (s < 0) { perror("socket"); return 1; }
    int sndbuf = 4 << 20;
    setsockopt(s, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    if (inet_pton(AF_INET, dst, &sa.sin_addr) != 1) { fprintf(stderr, "bad address\n"); return 1; }
    /* not connect(): the route may not exist yet (start-up test), so each datagram is
     * addressed, and one that cannot be routed is counted as an error and retried later */
    char *buf = calloc(BATCH, payload > 0 ? payload : 1);
    struct mmsghdr msgs[BATCH];
    struct iovec iov[BATCH];
    memset(msgs, 0, sizeof msgs);
    for (int i = 0; i < BATCH; i++) {
        iov[i].iov_base = buf + (size_t)i * payload;
        iov[i].iov_len = payload;
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_name = &sa;
        msgs[i].msg_hdr.msg_namelen = sizeof sa;
    }
    /* at modest rates send smaller bursts so the pacing stays smooth */
    int batch = BATCH;
    if (rate > 0 && rate < 20000) batch = 1;
    else if (rate > 0 && rate < 100000) batch = 8;
    long sent = 0, errors = 0;
    double start = now();
    while (sent + errors < count) {
        long left = count - sent - errors;
        int n = left < batch ? (int)left : batch;
        if (rate > 0) {
            double due = start + (double)(sent + errors) / rate;
            double t;
            while ((t = now()) < due) {
                if (due - t > 200e-6) {
                    struct timespec d = {0, (long)((due - t - 100e-6) * 1e9)};
                    nanosleep(&d, NULL);
                }
            }
        }
        for (int i = 0; i < n; i++) {  /* a sequence number in every payload */
            long k = sent + errors + i;
            if (payload >= 8) memcpy(buf + (size_t)i * payload, &k, 8);
        }
        int r = sendmmsg(s, msgs, n, 0);
        if (r < 0) {
            if (errno == EINTR) continue;
            errors += 1;  /* ENOBUFS and the like: the datagram never left */
            continue;
        }
        sent += r;
    }
    double secs = now() - start;
    printf("{\"requested\": %ld, \"sent\": %ld, \"errors\": %ld, \"seconds\": %.6f, "
           "\"pps\": %.1f}\n", count, sent, errors, secs, secs > 0 ? sent / secs : 0.0);
    return 0;
}

static volatile sig_atomic_t stop_flag = 0;
static void on_signal(int sig) { (void)sig; stop_flag = 1; }

static int do_read(int fd) {
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;  /* no SA_RESTART: a signal interrupts read(2) */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    static char buf[65536];
    long packets = 0, bytes = 0;
    printf("{\"ready\": true}\n");
    fflush(stdout);
    while (!stop_flag) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            perror("read");
            break;
        }
        packets++;
        bytes += n;
    }
    printf("{\"packets\": %ld, \"bytes\": %ld}\n", packets, bytes);
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 7 && strcmp(argv[1], "send") == 0)
        return do_send(argv[2], atoi(argv[3]), atol(argv[4]), atof(argv[5]), atoi(argv[6]));
    if (argc >= 3 && strcmp(argv[1], "read") == 0)
        return do_read(atoi(argv[2]));
    fprintf(stderr, "usage: loadgen send DST PORT COUNT RATE PAYLOAD | loadgen read FD\n");
    return 2;
}
