/* tapwatch._relay: a tunnel end's frames moved without the GIL, recorded afterwards.
 *
 * Hand-written native code, kept because a measured hot path needs it (bench/RESULTS.md,
 * "The tunnel end's frames moved without the GIL", 2026-12-07): in Python, tapwatch's
 * tunnel end took 1.3-1.9x the time of a plain C relay (bench/tunrelay.c) to move a frame,
 * because each frame waited for the GIL (another thread may hold it up to the 5 ms switch
 * interval) and for Python work before it was moved. Here each call releases the GIL,
 * waits, reads, writes the frame to the other side, and only then takes the GIL back and
 * hands Python what it moved, for the ring and the counters. Nothing else is done here:
 * every decision about peers, backlogs, errors and what is said stays in tapwatch/tunnel.py,
 * and without this module (no compiler when installed) tunnel.py moves the frames itself.
 *
 * One Relay per TCP tunnel end:
 *   out(dev_fd, wait_ms, batch, linger_us, direction) (the device's reader thread): poll
 *     the device, read what is queued (up to batch frames; what comes within linger_us too),
 *     send each to the peer with its 2-byte
 *     length prefix while the connection is open for direct sends; returns
 *     (records, nsent, sent_bytes, tail, generation, err, dead): records are
 *     (ns stamp, direction, frame) for every frame read, the first nsent of which went out
 *     (the last of those maybe in part: tail is what is left of it, and direct sends are
 *     then closed until tunnel.py reopens them once its backlog is empty).
 *   inbound(sock_fd, dev_fd, others, want_write, wait_ms, linger_us, direction) (the tunnel's
 *     thread): poll
 *     the connection and the thread's other descriptors; read what the peer sent,
 *     reassemble frames by byte count across calls, write each whole frame into the device;
 *     returns (records, sock_events, other_events, eof, frames, zero_length, too_long,
 *     length_mismatch, write_errors).
 * The connection's descriptor for direct sends is set and cleared under a mutex
 * (attach/detach), so a send never goes to a descriptor tunnel.py has closed.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define READ_SIZE 65536
#define IN_SIZE (2 * 65536 + 4) /* more than one whole frame of any length, and its prefix */
#define MAX_OTHERS 8

typedef struct {
    PyObject_HEAD
    pthread_mutex_t mu;
    int sock;          /* the connection for direct sends; -1: none */
    int open;          /* direct sends allowed: connected and nothing queued in tunnel.py */
    long generation;   /* counts attach(): a tail is kept only for the connection it was cut on */
    int max_frame;
    int raw;           /* a tun: frames are IP packets, their own length is checked */
    unsigned char *in; /* peer -> device: bytes of a frame not yet whole */
    size_t have;
    size_t skip;       /* bytes of an oversized frame still to read past */
} Relay;

typedef struct {
    int64_t ts;
    size_t len;
    unsigned char *data;
} Moved;

static int64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static int64_t mono_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
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

static void free_moved(Moved *m, size_t n) {
    for (size_t i = 0; i < n; i++) free(m[i].data);
    free(m);
}

/* The moved frames as a list of (stamp, direction, bytes); NULL with an exception set. */
static PyObject *records(Moved *m, size_t n, long direction) {
    PyObject *list = PyList_New((Py_ssize_t)n);
    if (!list) return NULL;
    for (size_t i = 0; i < n; i++) {
        PyObject *rec = Py_BuildValue("(Lly#)", (long long)m[i].ts, direction, m[i].data,
                                      (Py_ssize_t)m[i].len);
        if (!rec) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, rec);
    }
    return list;
}

static int Relay_init(Relay *self, PyObject *args, PyObject *kw) {
    static char *names[] = {"max_frame", "raw", NULL};
    int max_frame, raw;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "ip", names, &max_frame, &raw))
        return -1;
    if (max_frame <= 0 || max_frame > 65535) {
        PyErr_SetString(PyExc_ValueError, "max_frame must be 1-65535");
        return -1;
    }
    if (!self->in) {
        self->in = malloc(IN_SIZE);
        if (!self->in) {
            PyErr_NoMemory();
            return -1;
        }
        pthread_mutex_init(&self->mu, NULL);
    }
    self->sock = -1;
    self->open = 0;
    self->max_frame = max_frame;
    self->raw = raw;
    self->have = self->skip = 0;
    return 0;
}

static void Relay_dealloc(Relay *self) {
    if (self->in) {
        free(self->in);
        pthread_mutex_destroy(&self->mu);
    }
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* attach(sock_fd): a new connection; direct sends open, nothing half-read kept. */
static PyObject *Relay_attach(Relay *self, PyObject *arg) {
    int fd = PyLong_AsLong(arg);
    if (fd == -1 && PyErr_Occurred()) return NULL;
    pthread_mutex_lock(&self->mu);
    self->sock = fd;
    self->open = fd >= 0;
    self->generation++;
    pthread_mutex_unlock(&self->mu);
    self->have = self->skip = 0;
    Py_RETURN_NONE;
}

/* detach(): the connection is about to be closed: no direct send goes to it from now. */
static PyObject *Relay_detach(Relay *self, PyObject *Py_UNUSED(unused)) {
    Py_BEGIN_ALLOW_THREADS
    pthread_mutex_lock(&self->mu);
    self->sock = -1;
    self->open = 0;
    pthread_mutex_unlock(&self->mu);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

/* end(): the peer's stream ended; True when a frame was begun and not finished. */
static PyObject *Relay_end(Relay *self, PyObject *Py_UNUSED(unused)) {
    int cut = self->have || self->skip;
    self->have = self->skip = 0;
    return PyBool_FromLong(cut);
}

/* hold() / reopen(): tunnel.py queued frames (direct sends would overtake them) / its
 * queue is empty again. */
static PyObject *Relay_hold(Relay *self, PyObject *Py_UNUSED(unused)) {
    Py_BEGIN_ALLOW_THREADS
    pthread_mutex_lock(&self->mu);
    self->open = 0;
    pthread_mutex_unlock(&self->mu);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

static PyObject *Relay_reopen(Relay *self, PyObject *Py_UNUSED(unused)) {
    Py_BEGIN_ALLOW_THREADS
    pthread_mutex_lock(&self->mu);
    self->open = self->sock >= 0;
    pthread_mutex_unlock(&self->mu);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

static PyObject *Relay_generation(Relay *self, PyObject *Py_UNUSED(unused)) {
    return PyLong_FromLong(self->generation);
}

/* Send one framed frame on the open connection. Returns 1 sent (maybe in part: *tail, *tail_len
 * are set and direct sends closed), 0 not sent (no open connection). */
static int send_one(Relay *self, const unsigned char *frame, size_t n, unsigned char **tail,
                    size_t *tail_len, long *gen) {
    int done = 0;
    pthread_mutex_lock(&self->mu);
    if (self->open && self->sock >= 0) {
        unsigned char prefix[2] = {(unsigned char)(n >> 8), (unsigned char)n};
        struct iovec iov[2] = {{prefix, 2}, {(void *)frame, n}};
        struct msghdr msg;
        memset(&msg, 0, sizeof msg);
        msg.msg_iov = iov;
        msg.msg_iovlen = 2;
        ssize_t w;
        do {
            w = sendmsg(self->sock, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
        } while (w < 0 && errno == EINTR);
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            w = (ssize_t)n + 2; /* a broken connection: tunnel.py's thread sees it and says so */
        if (w < 0) w = 0;
        if ((size_t)w < n + 2) { /* the rest waits in tunnel.py's backlog, in order */
            size_t left = n + 2 - (size_t)w;
            *tail = malloc(left);
            if (*tail) {
                unsigned char whole[2 + READ_SIZE];
                memcpy(whole, prefix, 2);
                memcpy(whole + 2, frame, n);
                memcpy(*tail, whole + w, left);
                *tail_len = left;
            }
            self->open = 0;
        }
        *gen = self->generation;
        done = 1;
    }
    pthread_mutex_unlock(&self->mu);
    return done;
}

static PyObject *Relay_out(Relay *self, PyObject *args) {
    int dev_fd, wait_ms, batch, linger_us;
    long direction;
    if (!PyArg_ParseTuple(args, "iiiil", &dev_fd, &wait_ms, &batch, &linger_us, &direction))
        return NULL;
    if (batch < 1) batch = 1;
    Moved *moved = calloc((size_t)batch, sizeof *moved);
    if (!moved) return PyErr_NoMemory();
    size_t n = 0, nsent = 0, sent_bytes = 0, tail_len = 0;
    unsigned char *tail = NULL;
    long gen = self->generation;
    int err = 0, dead = 0, nomem = 0;
    Py_BEGIN_ALLOW_THREADS
    struct pollfd p = {dev_fd, POLLIN | POLLERR | POLLHUP, 0};
    int r = poll(&p, 1, wait_ms);
    if (r < 0 && errno != EINTR) {
        err = errno;
    } else if (r > 0 && !(p.revents & POLLIN)) {
        dead = (p.revents & (POLLERR | POLLHUP | POLLNVAL)) != 0;
    } else if (r > 0) {
        unsigned char buf[READ_SIZE];
        int sending = 1;
        int64_t until = 0;
        for (;;) {
            int empty = 0;
            while (n < (size_t)batch) {
                int64_t ts = now_ns();
                ssize_t got = read(dev_fd, buf, sizeof buf);
                if (got < 0) {
                    if (errno == EINTR) continue;
                    if (errno != EAGAIN && errno != EWOULDBLOCK) err = errno;
                    empty = !err;
                    break;
                }
                /* sent before it is kept: the copy is time the frame need not wait */
                if (sending && got > 0 && got <= self->max_frame && !tail &&
                    send_one(self, buf, (size_t)got, &tail, &tail_len, &gen)) {
                    if (nsent == 0) sched_yield(); /* what the send woke runs first, once */
                    nsent++;
                    sent_bytes += (size_t)got;
                    if (tail) sending = 0;
                } else {
                    sending = 0; /* the rest in order through tunnel.py (counted, queued) */
                }
                moved[n].data = malloc(got ? (size_t)got : 1);
                if (!moved[n].data) {
                    nomem = 1;
                    break;
                }
                memcpy(moved[n].data, buf, (size_t)got);
                moved[n].len = (size_t)got;
                moved[n].ts = ts;
                n++;
            }
            /* As for the peer's frames (inbound): what the send woke runs before this thread
             * records the frames and wakes the pump; frames the relay did not send are
             * handed back at once (tunnel.py sends or counts them). */
            if (!empty || !sending || !nsent || linger_us <= 0) break;
            if (!until) until = mono_ns() + (int64_t)linger_us * 1000;
            int64_t left = until - mono_ns();
            if (left <= 0) break;
            struct timespec t = {(time_t)(left / 1000000000), (long)(left % 1000000000)};
            struct pollfd q = {dev_fd, POLLIN | POLLERR | POLLHUP, 0};
            if (ppoll(&q, 1, &t, NULL) <= 0 || !(q.revents & POLLIN)) break;
        }
    }
    Py_END_ALLOW_THREADS
    PyObject *result = NULL;
    if (nomem) {
        PyErr_NoMemory();
    } else {
        PyObject *recs = records(moved, n, direction);
        if (recs) {
            result = Py_BuildValue("(Nnny#lii)", recs, (Py_ssize_t)nsent, (Py_ssize_t)sent_bytes,
                                   tail ? (const char *)tail : "", (Py_ssize_t)tail_len, gen, err,
                                   dead);
        }
    }
    free(tail);
    free_moved(moved, n);
    return result;
}

/* Whole frames in self->in: each written into the device as it is found. */
static size_t take_frames(Relay *self, int dev_fd, Moved *moved, size_t cap, size_t *n, long *counts) {
    size_t pos = 0;
    unsigned char *b = self->in;
    for (;;) {
        if (self->skip) {
            size_t k = self->have - pos < self->skip ? self->have - pos : self->skip;
            pos += k;
            self->skip -= k;
            if (self->skip) break;
        }
        if (self->have - pos < 2) break;
        size_t len = (size_t)b[pos] << 8 | b[pos + 1];
        if (len == 0) {
            counts[0]++; /* zero length */
            pos += 2;
            continue;
        }
        if (len > (size_t)self->max_frame) {
            counts[1]++; /* too long: read past it, in step with the stream */
            pos += 2;
            self->skip = len;
            continue;
        }
        if (self->have - pos - 2 < len) break;
        if (*n == cap) break; /* the rest on the next call */
        const unsigned char *frame = b + pos + 2;
        int64_t ts = now_ns();
        ssize_t w;
        do {
            w = write(dev_fd, frame, len);
        } while (w < 0 && errno == EINTR);
        counts[4]++; /* a frame, written or not: the peer is a peer */
        if (w < 0) {
            counts[3]++; /* the device refused it */
        } else {
            unsigned char *copy = malloc(len);
            if (copy) {
                memcpy(copy, frame, len);
                moved[*n].data = copy;
                moved[*n].len = len;
                moved[*n].ts = ts;
                (*n)++;
            }
            if (self->raw) {
                long says = ip_length(frame, len);
                if (says >= 0 && (size_t)says != len) counts[2]++; /* IP length disagrees */
            }
        }
        pos += 2 + len;
    }
    if (pos) {
        memmove(b, b + pos, self->have - pos);
        self->have -= pos;
    }
    return pos;
}

/* Read what the peer sent and write each whole frame into the device; room for more frames
 * is made as needed. 0: the stream goes on; 1: it ended (or failed). */
static int read_frames(Relay *self, int sock, int dev_fd, Moved **moved, size_t *cap, size_t *n,
                       long *counts, int *acked) {
    /* read no more than the buffer keeps whole: a frame left over stays for the next call */
    size_t room = IN_SIZE - self->have;
    ssize_t got = -1;
    errno = EAGAIN; /* no room (frames not yet written): read on the next call */
    while (room && (got = recv(sock, self->in + self->have, room, MSG_DONTWAIT)) < 0 &&
           errno == EINTR) {
    }
    if (got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) return 1;
    if (got > 0) self->have += (size_t)got;
    for (;;) {
        size_t had = *n;
        size_t pos = take_frames(self, dev_fd, *moved, *cap, n, counts);
        if (*n < *cap || self->have < 2 || (!pos && *n == had)) break;
        Moved *more = realloc(*moved, 2 * *cap * sizeof **moved); /* a burst of small frames */
        if (!more) break;
        memset(more + *cap, 0, *cap * sizeof *more);
        *moved = more;
        *cap *= 2;
    }
    if (got > 0) *acked = 0;
    return 0;
}

/* Frames written in one call before they are handed back: the recording waits no longer. */
#define LINGER_FRAMES 256

static PyObject *Relay_inbound(Relay *self, PyObject *args) {
    int sock, dev_fd, want_write, wait_ms, linger_us;
    long direction;
    PyObject *others;
    if (!PyArg_ParseTuple(args, "iiOpiil", &sock, &dev_fd, &others, &want_write, &wait_ms,
                          &linger_us, &direction))
        return NULL;
    struct pollfd fds[1 + MAX_OTHERS];
    Py_ssize_t nothers = PySequence_Size(others);
    if (nothers < 0) return NULL;
    if (nothers > MAX_OTHERS) {
        PyErr_SetString(PyExc_ValueError, "too many descriptors");
        return NULL;
    }
    fds[0].fd = sock;
    fds[0].events = POLLIN | POLLERR | POLLHUP | (want_write ? POLLOUT : 0);
    fds[0].revents = 0;
    for (Py_ssize_t i = 0; i < nothers; i++) {
        PyObject *o = PySequence_GetItem(others, i);
        if (!o) return NULL;
        long fd = PyLong_AsLong(o);
        Py_DECREF(o);
        if (fd == -1 && PyErr_Occurred()) return NULL;
        fds[1 + i].fd = (int)fd;
        fds[1 + i].events = POLLIN;
        fds[1 + i].revents = 0;
    }
    nfds_t nfds = (nfds_t)(1 + nothers);
    size_t cap = 64, n = 0;
    Moved *moved = calloc(cap, sizeof *moved);
    if (!moved) return PyErr_NoMemory();
    long counts[5] = {0, 0, 0, 0, 0}; /* zero, too long, mismatch, write errors, frames */
    int eof = 0, acked = 1;
    Py_BEGIN_ALLOW_THREADS
    int r = poll(fds, nfds, wait_ms);
    if (r < 0) {
        for (nfds_t i = 0; i < nfds; i++) fds[i].revents = 0;
    } else if (fds[0].revents & (POLLIN | POLLERR | POLLHUP)) {
        eof = read_frames(self, sock, dev_fd, &moved, &cap, &n, counts, &acked);
        /* What a write into the device woke (the host's receiver) runs before this thread
         * records the frames and wakes the pump: on a machine with few processors, work
         * right after the write is time the receiver waits (bench/tunnel_latency_bench.py).
         * So wait a moment, moving what else comes meanwhile, and hand the frames back once
         * the stream pauses, something else needs the thread, or enough were moved. */
        int64_t until = mono_ns() + (int64_t)linger_us * 1000;
        while (!eof && n && linger_us > 0 && n < LINGER_FRAMES) {
            int64_t left = until - mono_ns();
            if (left <= 0) break;
            struct timespec t = {(time_t)(left / 1000000000), (long)(left % 1000000000)};
            struct pollfd again[1 + MAX_OTHERS];
            memcpy(again, fds, nfds * sizeof *fds);
            for (nfds_t i = 0; i < nfds; i++) again[i].revents = 0;
            if (ppoll(again, nfds, &t, NULL) <= 0) break;
            int other = (again[0].revents & POLLOUT) != 0;
            for (nfds_t i = 1; i < nfds; i++) other |= again[i].revents != 0;
            if (other) { /* the caller's to handle now */
                for (nfds_t i = 0; i < nfds; i++) fds[i].revents |= again[i].revents;
                break;
            }
            eof = read_frames(self, sock, dev_fd, &moved, &cap, &n, counts, &acked);
        }
        if (!acked && !eof) {
            /* ACK now, once the frames are in the device and what they woke had its turn:
             * simpletun writes the prefix and the frame apart, and with Nagle on its side the
             * frame waits for this ACK, which a delayed ACK would hold back ~40 ms */
            int one = 1;
            setsockopt(sock, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
        }
    }
    Py_END_ALLOW_THREADS
    PyObject *result = NULL;
    PyObject *recs = records(moved, n, direction);
    PyObject *ev = recs ? PyList_New(0) : NULL;
    if (ev) {
        for (Py_ssize_t i = 1; i <= nothers; i++) {
            if (!fds[i].revents) continue;
            PyObject *pair = Py_BuildValue("(ii)", fds[i].fd, (int)fds[i].revents);
            if (!pair || PyList_Append(ev, pair) < 0) {
                Py_XDECREF(pair);
                Py_CLEAR(ev);
                break;
            }
            Py_DECREF(pair);
        }
    }
    if (recs && ev) {
        result = Py_BuildValue("(NNiilllll)", recs, ev, (int)fds[0].revents, eof, counts[4],
                               counts[0], counts[1], counts[2], counts[3]);
        recs = ev = NULL;
    }
    Py_XDECREF(recs);
    Py_XDECREF(ev);
    free_moved(moved, n);
    return result;
}

static PyMethodDef Relay_methods[] = {
    {"attach", (PyCFunction)Relay_attach, METH_O, "A new connection: direct sends open."},
    {"detach", (PyCFunction)Relay_detach, METH_NOARGS, "The connection goes: True if cut short."},
    {"end", (PyCFunction)Relay_end, METH_NOARGS, "The stream ended: True if cut short."},
    {"hold", (PyCFunction)Relay_hold, METH_NOARGS, "Frames are queued: no direct sends."},
    {"reopen", (PyCFunction)Relay_reopen, METH_NOARGS, "The queue is empty: direct sends."},
    {"generation", (PyCFunction)Relay_generation, METH_NOARGS, "Connections attached so far."},
    {"out", (PyCFunction)Relay_out, METH_VARARGS, "Device -> peer, without the GIL."},
    {"inbound", (PyCFunction)Relay_inbound, METH_VARARGS, "Peer -> device, without the GIL."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject RelayType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "tapwatch._relay.Relay",
    .tp_basicsize = sizeof(Relay),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A TCP tunnel end's frames, moved without the GIL.",
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
