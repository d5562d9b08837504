/* The reference for bench/tunnel_latency_bench.py: a plain C tunnel end, simpletun's
 * wire format (2-byte big-endian length, then the frame), one poll() loop.
 *
 *   tunrelay DEV PEER_ADDR PORT
 *
 * Creates the tun DEV (IFF_TUN | IFF_NO_PI), prints "ready" once it exists, connects to
 * PEER_ADDR:PORT over TCP (TCP_NODELAY), then relays until either side ends: each frame
 * read from the device goes out in one write with its prefix; frames from the peer are
 * reassembled by byte count and written into the device. Nothing else, no batching. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static int write_all(int fd, const unsigned char *p, size_t n) {
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: tunrelay DEV PEER_ADDR PORT\n");
        return 2;
    }
    int tun = open("/dev/net/tun", O_RDWR);
    if (tun < 0) { perror("/dev/net/tun"); return 1; }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    strncpy(ifr.ifr_name, argv[1], IFNAMSIZ - 1);
    if (ioctl(tun, TUNSETIFF, &ifr) < 0) { perror("TUNSETIFF"); return 1; }
    printf("ready\n");
    fflush(stdout);

    int sock = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)atoi(argv[3]));
    if (inet_pton(AF_INET, argv[2], &sa.sin_addr) != 1) { fprintf(stderr, "bad address\n"); return 2; }
    if (connect(sock, (struct sockaddr *)&sa, sizeof sa) < 0) { perror("connect"); return 1; }
    int one = 1;
    setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

    unsigned char out[2 + 65536], in[65536 + 2];
    size_t have = 0;
    struct pollfd fds[2] = {{tun, POLLIN, 0}, {sock, POLLIN, 0}};
    for (;;) {
        if (poll(fds, 2, -1) < 0) { perror("poll"); return 1; }
        if (fds[0].revents & POLLIN) {
            ssize_t n = read(tun, out + 2, sizeof out - 2);
            if (n > 0) {
                out[0] = (unsigned char)(n >> 8);
                out[1] = (unsigned char)n;
                if (write_all(sock, out, (size_t)n + 2) < 0) return 0;
            }
        }
        if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = read(sock, in + have, sizeof in - have);
            if (n <= 0) return 0;
            have += (size_t)n;
            size_t pos = 0;
            while (have - pos >= 2) {
                size_t len = (size_t)in[pos] << 8 | in[pos + 1];
                if (have - pos - 2 < len) break;
                if (len && write(tun, in + pos + 2, len) < 0) { /* counted by the kernel */ }
                pos += 2 + len;
            }
            memmove(in, in + pos, have - pos);
            have -= pos;
        }
    }
}
