/* tapwatch._relay: a TCP tunnel end's frames moved by a native thread that never takes the GIL.
 *
 * Hand-written native code, kept because a measured hot path needs it (bench/RESULTS.md, "The
 * tunnel end's frames moved without the GIL" and "A relay thread of its own"). A relay that
 * returned to Python after each wait took the GIL back every time, and another thread may hold
 * the GIL up to the 5 ms switch interval: frames waited for it. Here one pthread moves frames in
 * both directions (device -> peer with simpletun's 2-byte length prefix, peer -> device
 * reassembled by byte count) and keeps the backlog for a peer that does not read; Python only
 * reads copies of what was moved, later, from a bounded queue. A full queue never holds a frame
 * back: the frame is carried and its copy counted as not recorded.
 *
 * One thread, one queue: every frame's copy is queued in the order this thread moved it, each
 * stamped (CLOCK_REALTIME ns) as it was read from the device or as its write into the device
 * began, so what the ring numbers follows what happened (a reply after its request).
 *
 * The descriptors are the thread's alone: Python asks for a change (a connection, the device)
 * and waits until the thread has taken it, so a descriptor Python is about to close is never
 * used again. Every decision about peers, retries, what is said stays in tapwatch/tunnel.py;
 * without this module (no compiler when installed) tunnel.py moves the frames itself.
 *
 * The peer is a stranger and this runs as root: every length it sends is checked against the
 * buffer before a byte is copied, the reassembly buffer holds a whole frame of any length the
 * prefix can say, the backlog and the queue are bounded.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define READ_SIZE 65536
#define IN_SIZE (2 * 65536 + 4)   /* more than one whole frame of any length, and its prefix */
#define MAX_BACKLOG (4 << 20)     /* as tunnel.py's MAX_BACKLOG: then frames are dropped, counted */
#define DEVICE_BATCH 64           /* device frames read per wake-up before the peer is looked at */
#define WAKE_AFTER 256            /* queued copies that wake the recorder without waiting */
#define QUEUE_BYTES (32 << 20)    /* the queue's byte bound, beside its frame bound */

/* The counters, in tunnel.py's order (Relay.counters() returns them as a tuple). */
enum {
    C_FRAMES_OUT, C_BYTES_OUT, C_FRAMES_IN, C_BYTES_IN, C_ZERO, C_TOO_LONG_IN, C_MISMATCH,
    C_CUT, C_TOO_LONG_OUT, C_EMPTY_OUT, C_NO_PEER, C_BACKLOG_FULL, C_WRITE_ERR, C_UNRECORDED,
    NCOUNT
};
#define BUMP(r, i, n) __atomic_fetch_add(&(r)->c[i], (uint64_t)(n), __ATOMIC_RELAXED)

typedef struct {
    int64_t ts;
    int dir;
    size_t len;
    unsigned char *data;
} Rec;

typedef struct {
    PyObject_HEAD
    int ready_once; /* the mutex, condition and buffers exist */
    pthread_mutex_t mu;
    pthread_cond_t cv;     /* the queue changed, a request was taken, the thread ended */
    pthread_cond_t dev_cv; /* the device failed or went (the device's reader waits for it) */
    int max_frame, raw, out_dir, in_dir;
    long linger_us;
    /* asked by Python (under mu), taken by the thread at the top of its loop */
    int want_dev, want_read, want_sock, sock_asked;
    long asked, taken;
    int stopping, running;
    pthread_t th;
    int ctl[2];    /* wakes the thread for a request */
    int note[2];   /* wakes tunnel.py's thread: the peer left, its first frame, framing news */
    /* the thread's own; read by Python under mu */
    int dev, reading, dev_nb, sock, ended, heard, dev_dead, dev_err;
    unsigned char *in;
    size_t have, skip;
    unsigned char *bl; /* framed bytes the peer has not taken yet, bl[bl_at..bl_end) */
    size_t bl_at, bl_end;
    Rec *q; /* the copies for Python: a ring of qcap, qn from qhead */
    size_t qcap, qhead, qn, qbytes;
    int posted; /* the recorder was told of what is queued */
    uint64_t c[NCOUNT];
} Relay;

static int64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* What an IP packet says its length is, -1 when it says nothing tapwatch reads
 * (tapwatch.tunnelwire.ip_length). */
static long ip_length(const unsigned char *p, size_t n) {
    if (!n) return -1;
    int v = p[0] >> 4;
    if (v == 4 && n >= 4) return (long)p[2] << 8 | p[3];
    if (v == 6 && n >= 6) {
        long plen = (long)p[4] << 8 | p[5];
        return plen ? 40 + plen : -1;
    }
    return -1;
}

static void poke(int fd) {
    char b = 1;
    ssize_t w = write(fd, &b, 1); /* a full pipe already says it */
    (void)w;
}

/* Tell the recorder (Relay.drain) that there is something for it (under mu). */
static void post(Relay *r) {
    r->posted = 1;
    pthread_cond_broadcast(&r->cv);
}

/* A copy of a moved frame for Python; counted as not recorded when the queue is full. */
static void record(Relay *r, int64_t ts, int dir, const unsigned char *p, size_t n) {
    unsigned char *copy = malloc(n ? n : 1);
    if (copy) memcpy(copy, p, n);
    pthread_mutex_lock(&r->mu);
    if (!copy || r->qn == r->qcap || r->qbytes + n > QUEUE_BYTES) {
        pthread_mutex_unlock(&r->mu);
        free(copy);
        BUMP(r, C_UNRECORDED, 1);
        return;
    }
    Rec *slot = &r->q[(r->qhead + r->qn) % r->qcap];
    slot->ts = ts;
    slot->dir = dir;
    slot->len = n;
    slot->data = copy;
    r->qn++;
    r->qbytes += n;
    if (r->qn >= WAKE_AFTER || r->linger_us <= 0) post(r);
    else r->posted = 0; /* told after a pause (run()): what the frame woke runs first */
    pthread_mutex_unlock(&r->mu);
}

/* Queue framed bytes for the peer; 0 when the backlog has no room (never cut a frame). */
static int backlog(Relay *r, const unsigned char *p, size_t n) {
    if (r->bl_end - r->bl_at + n > MAX_BACKLOG) return 0;
    if (r->bl_end + n > MAX_BACKLOG) { /* room at the front: move what waits there */
        memmove(r->bl, r->bl + r->bl_at, r->bl_end - r->bl_at);
        r->bl_end -= r->bl_at;
        r->bl_at = 0;
    }
    memcpy(r->bl + r->bl_end, p, n);
    r->bl_end += n;
    return 1;
}

/* The peer's connection ended or failed: a frame begun and not finished is cut short. */
static void end_stream(Relay *r) {
    if (r->ended) return;
    if (r->have || r->skip) BUMP(r, C_CUT, 1);
    pthread_mutex_lock(&r->mu);
    r->ended = 1;
    pthread_mutex_unlock(&r->mu);
    r->have = r->skip = 0;
    poke(r->note[1]);
}

/* One frame the device gave, to the peer: sent, queued behind the backlog, or counted. */
static void to_peer(Relay *r, const unsigned char *frame, size_t n) {
    if (n == 0) { /* simpletun reads a zero length as the end */
        BUMP(r, C_EMPTY_OUT, 1);
        return;
    }
    if (n > (size_t)r->max_frame) { /* simpletun's buffer is not checked: never more */
        BUMP(r, C_TOO_LONG_OUT, 1);
        return;
    }
    if (r->sock < 0 || r->ended) {
        BUMP(r, C_NO_PEER, 1);
        return;
    }
    unsigned char prefix[2] = {(unsigned char)(n >> 8), (unsigned char)n};
    if (r->bl_end > r->bl_at) { /* behind what waits, in order */
        if (r->bl_end - r->bl_at + n + 2 > MAX_BACKLOG) {
            BUMP(r, C_BACKLOG_FULL, 1);
            return;
        }
        backlog(r, prefix, 2);
        backlog(r, frame, n);
    } else {
        struct iovec iov[2] = {{prefix, 2}, {(void *)frame, n}};
        struct msghdr msg;
        memset(&msg, 0, sizeof msg);
        msg.msg_iov = iov;
        msg.msg_iovlen = 2;
        ssize_t w;
        do {
            w = sendmsg(r->sock, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
        } while (w < 0 && errno == EINTR);
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            end_stream(r); /* a broken connection: tunnel.py says so and closes it */
        } else {
            if (w < 0) w = 0;
            size_t left = n + 2 - (size_t)w; /* the rest of the frame first, whole */
            if (left > n) { /* the prefix (or part of it) was not sent either */
                backlog(r, prefix + (2 - (left - n)), left - n);
                left = n;
            }
            if (left) backlog(r, frame + (n - left), left); /* fits: the backlog was empty */
        }
    }
    BUMP(r, C_FRAMES_OUT, 1);
    BUMP(r, C_BYTES_OUT, n);
}

/* Send what the backlog holds as far as the peer takes it. */
static void flush(Relay *r) {
    while (r->bl_end > r->bl_at) {
        ssize_t w = send(r->sock, r->bl + r->bl_at, r->bl_end - r->bl_at, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) end_stream(r);
            return;
        }
        r->bl_at += (size_t)w;
    }
    r->bl_at = r->bl_end = 0;
}

/* The device is readable (or says it is gone): read what is queued, move each frame. */
static void from_device(Relay *r, short revents) {
    unsigned char buf[READ_SIZE];
    int batch = r->dev_nb ? DEVICE_BATCH : 1; /* a blocking descriptor: only what poll saw */
    int hup = 0;
    for (int i = 0; i < batch && (revents & POLLIN); i++) {
        int64_t ts = now_ns();
        ssize_t got = read(r->dev, buf, sizeof buf);
        if (got < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;
            pthread_mutex_lock(&r->mu);
            r->dev_err = errno;
            r->dev_dead = 1;
            pthread_cond_broadcast(&r->dev_cv);
            pthread_mutex_unlock(&r->mu);
            return;
        }
        if (got == 0 && (revents & POLLHUP)) { /* the other end is gone: no frame */
            hup = 1;
            break;
        }
        to_peer(r, buf, (size_t)got);
        record(r, ts, r->out_dir, buf, (size_t)got);
    }
    if (revents & (POLLERR | POLLHUP | POLLNVAL) && (!(revents & POLLIN) || hup)) {
        pthread_mutex_lock(&r->mu);
        r->dev_dead = 1; /* what was queued was read first */
        pthread_cond_broadcast(&r->dev_cv);
        pthread_mutex_unlock(&r->mu);
    }
}

/* Whole frames in r->in, each written into the device as it is found. */
static void take_frames(Relay *r) {
    size_t pos = 0;
    unsigned char *b = r->in;
    uint64_t framing = r->c[C_ZERO] + r->c[C_TOO_LONG_IN] + r->c[C_MISMATCH];
    int heard = r->heard;
    for (;;) {
        if (r->skip) { /* the rest of a frame too long for the device: read past it */
            size_t k = r->have - pos < r->skip ? r->have - pos : r->skip;
            pos += k;
            r->skip -= k;
            if (r->skip) break;
        }
        if (r->have - pos < 2) break;
        size_t len = (size_t)b[pos] << 8 | b[pos + 1];
        if (len == 0) {
            BUMP(r, C_ZERO, 1);
            pos += 2;
            continue;
        }
        if (len > (size_t)r->max_frame) { /* in step with the stream: its bytes are skipped */
            BUMP(r, C_TOO_LONG_IN, 1);
            pos += 2;
            r->skip = len;
            continue;
        }
        if (r->have - pos - 2 < len) break; /* not whole yet: IN_SIZE holds it when it is */
        const unsigned char *frame = b + pos + 2;
        int64_t ts = now_ns(); /* before the write: never after what it makes the host send */
        ssize_t w = -1;
        if (r->dev >= 0) {
            do {
                w = write(r->dev, frame, len);
            } while (w < 0 && errno == EINTR);
        }
        if (!r->heard) { /* a frame, written or not: the peer is a peer */
            pthread_mutex_lock(&r->mu);
            r->heard = 1;
            pthread_mutex_unlock(&r->mu);
        }
        if (w < 0) {
            BUMP(r, C_WRITE_ERR, 1);
        } else {
            BUMP(r, C_FRAMES_IN, 1);
            BUMP(r, C_BYTES_IN, len);
            if (r->raw) {
                long says = ip_length(frame, len);
                if (says >= 0 && (size_t)says != len) BUMP(r, C_MISMATCH, 1);
            }
            record(r, ts, r->in_dir, frame, len);
        }
        pos += 2 + len;
    }
    if (pos) {
        memmove(b, b + pos, r->have - pos);
        r->have -= pos;
    }
    if (heard != r->heard || framing != r->c[C_ZERO] + r->c[C_TOO_LONG_IN] + r->c[C_MISMATCH])
        poke(r->note[1]); /* tunnel.py: a peer, not a squatter; or framing to be said */
}

/* The peer's connection is readable: read what fits, move every whole frame. */
static void from_peer(Relay *r) {
    size_t room = IN_SIZE - r->have; /* never 0: take_frames leaves less than one frame */
    ssize_t got;
    do {
        got = recv(r->sock, r->in + r->have, room, MSG_DONTWAIT);
    } while (got < 0 && errno == EINTR);
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (got <= 0) {
        end_stream(r);
        return;
    }
    r->have += (size_t)got;
    take_frames(r);
    /* ACK now, the frames in the device: simpletun writes the prefix and the frame apart, and
     * with Nagle on its side the frame waits for this ACK, which a delayed ACK holds ~40 ms */
    int one = 1;
    setsockopt(r->sock, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
}

/* Take what Python asked (under mu): a new connection or none, the device or none. */
static void take_requests(Relay *r) {
    if (r->asked == r->taken) return;
    if (r->sock_asked) { /* every attach is a new stream, even on a reused descriptor */
        r->sock_asked = 0;
        if (r->sock >= 0 && !r->ended && (r->have || r->skip)) BUMP(r, C_CUT, 1);
        r->sock = r->want_sock;
        r->ended = r->heard = 0;
        r->have = r->skip = 0;
        r->bl_at = r->bl_end = 0;
    }
    if (r->want_dev != r->dev) {
        r->dev = r->want_dev;
        r->dev_dead = r->dev_err = 0;
        r->dev_nb = r->dev >= 0 && (fcntl(r->dev, F_GETFL) & O_NONBLOCK);
    }
    r->reading = r->dev >= 0 && r->want_read;
    r->taken = r->asked;
    pthread_cond_broadcast(&r->cv);
}

static void *run(void *arg) {
    Relay *r = arg;
    sigset_t all; /* signals are Python's main thread's (Ctrl-C): never this thread's */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    for (;;) {
        pthread_mutex_lock(&r->mu);
        take_requests(r);
        int stop = r->stopping;
        int waiting = r->qn && !r->posted; /* copies the recorder was not told of yet */
        pthread_mutex_unlock(&r->mu);
        if (stop) break;
        struct pollfd p[3] = {{r->ctl[0], POLLIN, 0}};
        int n = 1, nd = -1, ns = -1;
        if (r->reading && !r->dev_dead) {
            nd = n;
            p[n++] = (struct pollfd){r->dev, POLLIN, 0};
        }
        if (r->sock >= 0 && !r->ended) {
            ns = n;
            p[n++] = (struct pollfd){r->sock, POLLIN | (r->bl_end > r->bl_at ? POLLOUT : 0), 0};
        }
        /* The recorder is told once the tunnel pauses for linger_us: what a frame woke (the
         * host's receiver, the peer) runs before Python's recorder wants a processor. */
        struct timespec t = {0, r->linger_us * 1000};
        int k = ppoll(p, (nfds_t)n, waiting ? &t : NULL, NULL);
        if (k == 0) {
            pthread_mutex_lock(&r->mu);
            post(r);
            pthread_mutex_unlock(&r->mu);
            continue;
        }
        if (k < 0) continue; /* EINTR; nothing else is possible with these arguments */
        if (p[0].revents) {
            char drain[64];
            while (read(r->ctl[0], drain, sizeof drain) == (ssize_t)sizeof drain) {
            }
        }
        if (ns >= 0 && (p[ns].revents & POLLOUT)) flush(r);
        if (nd >= 0 && p[nd].revents) from_device(r, p[nd].revents);
        if (ns >= 0 && !r->ended && (p[ns].revents & (POLLIN | POLLERR | POLLHUP))) from_peer(r);
    }
    pthread_mutex_lock(&r->mu);
    r->running = 0;
    post(r);
    pthread_cond_broadcast(&r->dev_cv);
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

static int Relay_init(Relay *self, PyObject *args, PyObject *kw) {
    static char *names[] = {"max_frame", "raw", "queue", "linger_us", "out_dir", "in_dir", NULL};
    int max_frame, raw, queue = 8192, out_dir = 1, in_dir = 0;
    long linger_us = 250;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "ip|ilii", names, &max_frame, &raw, &queue,
                                     &linger_us, &out_dir, &in_dir))
        return -1;
    if (max_frame <= 0 || max_frame > 65535) {
        PyErr_SetString(PyExc_ValueError, "max_frame must be 1-65535");
        return -1;
    }
    if (queue < 1 || queue > (1 << 20) || linger_us < 0 || linger_us > 999999) {
        PyErr_SetString(PyExc_ValueError, "queue must be 1-1048576, linger_us 0-999999");
        return -1;
    }
    if (self->ready_once) {
        PyErr_SetString(PyExc_RuntimeError, "a relay is set up once");
        return -1;
    }
    self->in = malloc(IN_SIZE);
    self->bl = malloc(MAX_BACKLOG); /* pages are only used as a backlog fills them */
    self->q = calloc((size_t)queue, sizeof *self->q);
    if (!self->in || !self->q || !self->bl) {
        free(self->in);
        free(self->q);
        free(self->bl);
        self->in = self->bl = NULL;
        self->q = NULL;
        PyErr_NoMemory();
        return -1;
    }
    if (pipe2(self->ctl, O_NONBLOCK | O_CLOEXEC) < 0) {
        free(self->in);
        free(self->q);
        free(self->bl);
        PyErr_SetFromErrno(PyExc_OSError);
        return -1;
    }
    if (pipe2(self->note, O_NONBLOCK | O_CLOEXEC) < 0) {
        close(self->ctl[0]);
        close(self->ctl[1]);
        free(self->in);
        free(self->q);
        free(self->bl);
        PyErr_SetFromErrno(PyExc_OSError);
        return -1;
    }
    pthread_mutex_init(&self->mu, NULL);
    pthread_cond_init(&self->cv, NULL);
    pthread_cond_init(&self->dev_cv, NULL);
    self->ready_once = 1;
    self->qcap = (size_t)queue;
    self->max_frame = max_frame;
    self->raw = raw;
    self->linger_us = linger_us;
    self->out_dir = out_dir;
    self->in_dir = in_dir;
    self->dev = self->want_dev = self->sock = self->want_sock = -1;
    return 0;
}

/* stop(): the thread ends (joined) and uses no descriptor from now on. */
static PyObject *Relay_stop(Relay *self, PyObject *Py_UNUSED(unused)) {
    if (!self->ready_once) Py_RETURN_NONE;
    Py_BEGIN_ALLOW_THREADS
    pthread_mutex_lock(&self->mu);
    int joining = self->running && !self->stopping;
    self->stopping = 1;
    pthread_cond_broadcast(&self->dev_cv);
    pthread_mutex_unlock(&self->mu);
    poke(self->ctl[1]);
    if (joining) {
        pthread_join(self->th, NULL);
    } else { /* another caller joins: this one too returns only once the thread ended */
        pthread_mutex_lock(&self->mu);
        while (self->running) pthread_cond_wait(&self->cv, &self->mu);
        pthread_mutex_unlock(&self->mu);
    }
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

static void Relay_dealloc(Relay *self) {
    if (self->ready_once) {
        Relay_stop(self, NULL);
        for (size_t i = 0; i < self->qn; i++) free(self->q[(self->qhead + i) % self->qcap].data);
        free(self->q);
        free(self->in);
        free(self->bl);
        close(self->ctl[0]);
        close(self->ctl[1]);
        close(self->note[0]);
        close(self->note[1]);
        pthread_mutex_destroy(&self->mu);
        pthread_cond_destroy(&self->cv);
        pthread_cond_destroy(&self->dev_cv);
    }
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *Relay_start(Relay *self, PyObject *Py_UNUSED(unused)) {
    if (!self->ready_once) return PyErr_Format(PyExc_RuntimeError, "not set up");
    pthread_mutex_lock(&self->mu);
    int err = 0;
    if (!self->running && !self->stopping) {
        err = pthread_create(&self->th, NULL, run, self);
        self->running = !err;
    }
    pthread_mutex_unlock(&self->mu);
    if (err) {
        errno = err;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    Py_RETURN_NONE;
}

/* Ask the thread for a change and wait until it took it (it uses an old descriptor no more). */
static void ask(Relay *self, int sock, int dev, int read) {
    Py_BEGIN_ALLOW_THREADS
    pthread_mutex_lock(&self->mu);
    if (sock != -2) {
        self->want_sock = sock;
        self->sock_asked = 1;
    }
    if (dev != -2) {
        self->want_dev = dev;
        self->want_read = read;
    }
    long want = ++self->asked;
    if (!self->running) {
        take_requests(self);
    } else {
        poke(self->ctl[1]);
        while (self->running && self->taken < want) pthread_cond_wait(&self->cv, &self->mu);
        if (self->taken < want) take_requests(self); /* it stopped meanwhile */
    }
    pthread_mutex_unlock(&self->mu);
    Py_END_ALLOW_THREADS
}

/* attach(sock_fd): a new connection (-1: none); nothing half-read or queued for the old one. */
static PyObject *Relay_attach(Relay *self, PyObject *arg) {
    long fd = PyLong_AsLong(arg);
    if (fd == -1 && PyErr_Occurred()) return NULL;
    if (!self->ready_once || fd < -1 || fd > INT32_MAX)
        return PyErr_Format(PyExc_ValueError, "no such descriptor");
    ask(self, (int)fd, -2, 0);
    Py_RETURN_NONE;
}

/* device(fd, read): the device to write the peer's frames into (-1: none), read too when read. */
static PyObject *Relay_device(Relay *self, PyObject *args) {
    int fd, read;
    if (!PyArg_ParseTuple(args, "ip", &fd, &read)) return NULL;
    if (!self->ready_once || fd < -1) return PyErr_Format(PyExc_ValueError, "no such descriptor");
    ask(self, -2, fd, read);
    Py_RETURN_NONE;
}

/* drain(wait_ms, most): the copies queued, oldest first, as (stamp, direction, frame), waiting
 * up to wait_ms (without the GIL) until the thread says there are some; [] on a timeout. */
static PyObject *Relay_drain(Relay *self, PyObject *args) {
    int wait_ms, most;
    if (!PyArg_ParseTuple(args, "ii", &wait_ms, &most)) return NULL;
    if (!self->ready_once) return PyErr_Format(PyExc_RuntimeError, "not set up");
    if (most < 1) most = 1;
    Rec *got = NULL;
    size_t n = 0;
    Py_BEGIN_ALLOW_THREADS
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += wait_ms / 1000;
    until.tv_nsec += (long)(wait_ms % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&self->mu);
    while (wait_ms > 0 && !(self->posted && self->qn) && self->running && !self->stopping) {
        if (pthread_cond_timedwait(&self->cv, &self->mu, &until) == ETIMEDOUT) break;
    }
    n = self->qn < (size_t)most ? self->qn : (size_t)most;
    got = n ? malloc(n * sizeof *got) : NULL;
    if (!got) n = 0;
    for (size_t i = 0; i < n; i++) {
        got[i] = self->q[self->qhead];
        self->qhead = (self->qhead + 1) % self->qcap;
        self->qbytes -= got[i].len;
    }
    self->qn -= n;
    pthread_mutex_unlock(&self->mu);
    Py_END_ALLOW_THREADS
    PyObject *list = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; list && i < n; i++) {
        PyObject *rec = Py_BuildValue("(Liy#)", (long long)got[i].ts, got[i].dir,
                                      (const char *)got[i].data, (Py_ssize_t)got[i].len);
        if (!rec) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, rec);
    }
    for (size_t i = 0; i < n; i++) free(got[i].data);
    free(got);
    return list;
}

/* wait_device(wait_ms): (errno of a failed read or 0, gone), waiting up to wait_ms (without
 * the GIL) for the device to fail or go: what the device's reader watches instead of reading. */
static PyObject *Relay_wait_device(Relay *self, PyObject *arg) {
    long wait_ms = PyLong_AsLong(arg);
    if (wait_ms == -1 && PyErr_Occurred()) return NULL;
    if (!self->ready_once) return PyErr_Format(PyExc_RuntimeError, "not set up");
    int err, dead;
    Py_BEGIN_ALLOW_THREADS
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += wait_ms / 1000;
    until.tv_nsec += (wait_ms % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&self->mu);
    while (wait_ms > 0 && !self->dev_dead) { /* the whole wait: the reader's loop is paced by it */
        if (pthread_cond_timedwait(&self->dev_cv, &self->mu, &until) == ETIMEDOUT) break;
    }
    err = self->dev_err;
    dead = self->dev_dead;
    pthread_mutex_unlock(&self->mu);
    Py_END_ALLOW_THREADS
    return Py_BuildValue("(iO)", err, dead ? Py_True : Py_False);
}

/* state(): (the peer's stream ended, a frame came from this peer, the thread runs). */
static PyObject *Relay_state(Relay *self, PyObject *Py_UNUSED(unused)) {
    if (!self->ready_once) return PyErr_Format(PyExc_RuntimeError, "not set up");
    char drain[64];
    while (read(self->note[0], drain, sizeof drain) == (ssize_t)sizeof drain) {
    }
    pthread_mutex_lock(&self->mu);
    int ended = self->ended, heard = self->heard, running = self->running;
    pthread_mutex_unlock(&self->mu);
    return Py_BuildValue("(OOO)", ended ? Py_True : Py_False, heard ? Py_True : Py_False,
                         running ? Py_True : Py_False);
}

static PyObject *Relay_counters(Relay *self, PyObject *Py_UNUSED(unused)) {
    PyObject *t = PyTuple_New(NCOUNT);
    for (int i = 0; t && i < NCOUNT; i++) {
        PyObject *v = PyLong_FromUnsignedLongLong(__atomic_load_n(&self->c[i], __ATOMIC_RELAXED));
        if (!v) {
            Py_CLEAR(t);
            break;
        }
        PyTuple_SET_ITEM(t, i, v);
    }
    return t;
}

static PyObject *Relay_fileno(Relay *self, PyObject *Py_UNUSED(unused)) {
    if (!self->ready_once) return PyErr_Format(PyExc_RuntimeError, "not set up");
    return PyLong_FromLong(self->note[0]);
}

static PyMethodDef Relay_methods[] = {
    {"start", (PyCFunction)Relay_start, METH_NOARGS, "Start the thread that moves the frames."},
    {"stop", (PyCFunction)Relay_stop, METH_NOARGS, "End the thread (joined): no descriptor used."},
    {"attach", (PyCFunction)Relay_attach, METH_O, "The peer's connection (-1: none), once taken."},
    {"device", (PyCFunction)Relay_device, METH_VARARGS, "The device (-1: none), once taken."},
    {"drain", (PyCFunction)Relay_drain, METH_VARARGS, "The queued copies, waiting up to wait_ms."},
    {"wait_device", (PyCFunction)Relay_wait_device, METH_O, "(errno, gone) of the device."},
    {"state", (PyCFunction)Relay_state, METH_NOARGS, "(ended, heard, running)."},
    {"counters", (PyCFunction)Relay_counters, METH_NOARGS, "Every count, in tunnel.py's order."},
    {"fileno", (PyCFunction)Relay_fileno, METH_NOARGS, "Readable when state() has news."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject RelayType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "tapwatch._relay.Relay",
    .tp_basicsize = sizeof(Relay),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A TCP tunnel end's frames, moved by a native thread without the GIL.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Relay_init,
    .tp_dealloc = (destructor)Relay_dealloc,
    .tp_methods = Relay_methods,
};

static struct PyModuleDef relay_module = {
    PyModuleDef_HEAD_INIT, "tapwatch._relay", "A tunnel end's frames moved without the GIL.", -1,
    NULL, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__relay(void) {
    if (PyType_Ready(&RelayType) < 0) return NULL;
    PyObject *m = PyModule_Create(&relay_module);
    if (!m) return NULL;
    Py_INCREF(&RelayType);
    if (PyModule_AddObject(m, "Relay", (PyObject *)&RelayType) < 0) {
        Py_DECREF(&RelayType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
