/*
 * NlSocket: one netlink socket, optionally created inside another network namespace.
 *
 * Receiving is batched: every wake-up (or explicit drain()) reads all datagrams that are ready
 * into one scratch area and hands them to JavaScript as ONE buffer plus a small table of
 * (offset, length, sender port id, flags) per datagram. Per-datagram JS calls would dominate the
 * cost of large dumps and pipelined acks.
 *
 * rtnetlink processes a request synchronously inside sendmsg() and the first part of a dump is
 * queued before sendmsg() returns, so JavaScript may call drain() right after send() and find the
 * replies already there; the libuv poll only catches what arrives later (events, dump tails).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "common.h"
#include "rx.h"
#include "sender.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

#define DRAIN_DEFAULT_MAX (4 * 1024 * 1024)

typedef struct nlsock {
  int fd;
  uint32_t port_id;
  napi_env env;
  uv_poll_t *poll; /* allocated separately: uv_close completes after the wrapper may be gone */
  int polling;
  int want_ref;
  napi_ref self;     /* strong while polling, so the object outlives its callbacks */
  napi_ref callback; /* (data, meta, errno) */
  napi_async_context async;
  nla_rx_t rx;          /* what drain() and the poll read into */
  nla_reader_t *reader; /* the read-ahead thread (rx.h), started by the first large dump */
  nla_sender_t *sender; /* started by the first queueSend(); stopped before the fd is closed */
} nlsock_t;

/* ---------- socket creation (in a namespace via a short-lived thread) ---------- */

typedef struct {
  const char *ns_path;
  int ns_fd;
  int protocol;
  int fd;
  int err;
  const char *syscall;
} open_args_t;

static int open_here(open_args_t *a) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, a->protocol);
  if (fd < 0) {
    a->err = errno;
    a->syscall = "socket";
    return -1;
  }
  a->fd = fd;
  return 0;
}

/* Runs on its own thread: setns() changes only this thread, which then exits, so the caller's
 * thread never leaves its namespace, whatever happens. The socket keeps the namespace it was
 * created in for its whole life. */
static void *open_in_ns_thread(void *p) {
  open_args_t *a = p;
  int nsfd = a->ns_fd;
  if (a->ns_path) {
    nsfd = open(a->ns_path, O_RDONLY | O_CLOEXEC);
    if (nsfd < 0) {
      a->err = errno;
      a->syscall = "open";
      return NULL;
    }
  }
  if (setns(nsfd, CLONE_NEWNET) < 0) {
    a->err = errno;
    a->syscall = "setns";
  } else {
    open_here(a);
  }
  if (a->ns_path) close(nsfd);
  return NULL;
}

static int open_socket(open_args_t *a) {
  if (!a->ns_path && a->ns_fd < 0) return open_here(a);
  pthread_t t;
  int rc = pthread_create(&t, NULL, open_in_ns_thread, a);
  if (rc != 0) {
    a->err = rc;
    a->syscall = "pthread_create";
    return -1;
  }
  pthread_join(t, NULL);
  return a->err ? -1 : 0;
}

/* ---------- lifecycle ---------- */

static void free_poll_handle(uv_handle_t *h) { free(h); }

static void stop_polling(nlsock_t *s) {
  if (s->poll) {
    uv_poll_stop(s->poll);
    s->poll->data = NULL;
    uv_close((uv_handle_t *)s->poll, free_poll_handle);
    s->poll = NULL;
  }
  if (s->polling) {
    s->polling = 0;
    uint32_t count;
    napi_reference_unref(s->env, s->self, &count);
  }
}

static void close_socket(nlsock_t *s) {
  stop_polling(s);
  if (s->sender) {
    nla_sender_stop(s->sender); /* waits for a send in progress: only then may the fd go */
    s->sender = NULL;
  }
  if (s->reader) {
    nla_reader_stop(s->reader); /* the same for a read */
    s->reader = NULL;
  }
  if (s->fd >= 0) {
    close(s->fd);
    s->fd = -1;
  }
}

static void finalize(napi_env env, void *data, void *hint) {
  nlsock_t *s = data;
  close_socket(s);
  if (s->callback) napi_delete_reference(env, s->callback);
  if (s->self) napi_delete_reference(env, s->self);
  if (s->async) napi_async_destroy(env, s->async);
  nla_rx_free(&s->rx);
  free(s);
}

static nlsock_t *unwrap(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
  napi_value self;
  void *data = NULL;
  if (napi_get_cb_info(env, info, argc, argv, &self, NULL) != napi_ok) return NULL;
  if (napi_unwrap(env, self, &data) != napi_ok || !data) {
    nla_throw_type(env, "not an NlSocket");
    return NULL;
  }
  return data;
}

static nlsock_t *unwrap_open(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
  nlsock_t *s = unwrap(env, info, argc, argv);
  if (s && s->fd < 0) {
    nla_throw_errno(env, EBADF, "netlink", "socket is closed");
    return NULL;
  }
  return s;
}

/* new NlSocket(protocol, netnsPath | null, netnsFd | -1) */
static napi_value sock_new(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], self;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, &self, NULL));
  int32_t protocol = 0, ns_fd = -1;
  char path[4096];
  int have_path = 0;
  if (argc >= 1 && nla_get_int32(env, argv[0], &protocol) < 0) return NULL;
  if (argc >= 2 && (have_path = nla_opt_string(env, argv[1], path, sizeof path)) < 0) return NULL;
  if (argc >= 3) {
    napi_valuetype t;
    napi_typeof(env, argv[2], &t);
    if (t == napi_number && nla_get_int32(env, argv[2], &ns_fd) < 0) return NULL;
  }

  open_args_t a = {have_path ? path : NULL, ns_fd, protocol, -1, 0, NULL};
  if (open_socket(&a) < 0) {
    nla_throw_errno(env, a.err, a.syscall, have_path ? path : NULL);
    return NULL;
  }
  struct sockaddr_nl addr = {.nl_family = AF_NETLINK};
  socklen_t alen = sizeof addr;
  if (bind(a.fd, (struct sockaddr *)&addr, sizeof addr) < 0 ||
      getsockname(a.fd, (struct sockaddr *)&addr, &alen) < 0) {
    int err = errno;
    close(a.fd);
    nla_throw_errno(env, err, "bind", NULL);
    return NULL;
  }

  nlsock_t *s = calloc(1, sizeof *s);
  if (!s) {
    close(a.fd);
    nla_throw_errno(env, ENOMEM, "calloc", NULL);
    return NULL;
  }
  s->fd = a.fd;
  s->port_id = addr.nl_pid;
  s->env = env;
  s->want_ref = 1;
  if (napi_wrap(env, self, s, finalize, NULL, NULL) != napi_ok) {
    close(a.fd);
    free(s);
    nla_throw_napi_failure(env, "napi_wrap");
    return NULL;
  }
  NAPI_CALL(env, napi_create_reference(env, self, 0, &s->self));
  napi_value name;
  NAPI_CALL(env, napi_create_string_utf8(env, "NetlinkSocket", NAPI_AUTO_LENGTH, &name));
  NAPI_CALL(env, napi_async_init(env, NULL, name, &s->async));
  return self;
}

static napi_value sock_port_id(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  nlsock_t *s = unwrap(env, info, &argc, NULL);
  if (!s) return NULL;
  napi_value v;
  NAPI_CALL(env, napi_create_uint32(env, s->port_id, &v));
  return v;
}

static napi_value sock_fd(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  nlsock_t *s = unwrap(env, info, &argc, NULL);
  if (!s) return NULL;
  napi_value v;
  NAPI_CALL(env, napi_create_int32(env, s->fd, &v));
  return v;
}

/* ---------- options ---------- */

/* setOption(level, name, value): integer socket options (SOL_NETLINK or SOL_SOCKET). */
static napi_value sock_set_option(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  nlsock_t *s = unwrap_open(env, info, &argc, argv);
  if (!s) return NULL;
  int32_t level, name, value;
  if (argc < 3 || nla_get_int32(env, argv[0], &level) < 0 || nla_get_int32(env, argv[1], &name) < 0 ||
      nla_get_int32(env, argv[2], &value) < 0)
    return NULL;
  int v = value;
  if (setsockopt(s->fd, level, name, &v, sizeof v) < 0) {
    nla_throw_errno(env, errno, "setsockopt", NULL);
    return NULL;
  }
  return NULL;
}

/* getOption(level, name) -> integer */
static napi_value sock_get_option(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  nlsock_t *s = unwrap_open(env, info, &argc, argv);
  if (!s) return NULL;
  int32_t level, name;
  if (argc < 2 || nla_get_int32(env, argv[0], &level) < 0 || nla_get_int32(env, argv[1], &name) < 0)
    return NULL;
  int v = 0;
  socklen_t len = sizeof v;
  if (getsockopt(s->fd, level, name, &v, &len) < 0) {
    nla_throw_errno(env, errno, "getsockopt", NULL);
    return NULL;
  }
  napi_value out;
  NAPI_CALL(env, napi_create_int32(env, v, &out));
  return out;
}

/* setBuffer(which: 0 = receive, 1 = send, bytes, force) -> size the kernel reports afterwards.
 * force uses SO_RCVBUFFORCE/SO_SNDBUFFORCE (needs CAP_NET_ADMIN) and falls back to the capped
 * option when not permitted. */
static napi_value sock_set_buffer(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  nlsock_t *s = unwrap_open(env, info, &argc, argv);
  if (!s) return NULL;
  int32_t which, bytes;
  bool force = false;
  if (argc < 3 || nla_get_int32(env, argv[0], &which) < 0 || nla_get_int32(env, argv[1], &bytes) < 0)
    return NULL;
  napi_get_value_bool(env, argv[2], &force);
  int plain = which == 0 ? SO_RCVBUF : SO_SNDBUF;
  int forced = which == 0 ? SO_RCVBUFFORCE : SO_SNDBUFFORCE;
  int v = bytes;
  int rc = -1;
  if (force) rc = setsockopt(s->fd, SOL_SOCKET, forced, &v, sizeof v);
  if (rc < 0 && (!force || errno == EPERM)) rc = setsockopt(s->fd, SOL_SOCKET, plain, &v, sizeof v);
  if (rc < 0) {
    nla_throw_errno(env, errno, "setsockopt", NULL);
    return NULL;
  }
  socklen_t len = sizeof v;
  getsockopt(s->fd, SOL_SOCKET, plain, &v, &len);
  napi_value out;
  NAPI_CALL(env, napi_create_int32(env, v, &out));
  return out;
}

/* ---------- send ---------- */

/* send(buffer, offset, length, portId = 0) -> bytes sent. One sendto for many concatenated
 * messages. portId 0 is the kernel; another port is only for tests (needs CAP_NET_ADMIN). */
static napi_value sock_send(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  nlsock_t *s = unwrap_open(env, info, &argc, argv);
  if (!s) return NULL;
  void *data;
  size_t size;
  if (argc < 1 || napi_get_buffer_info(env, argv[0], &data, &size) != napi_ok) {
    nla_throw_type(env, "send(buffer, offset, length): buffer must be a Buffer");
    return NULL;
  }
  int32_t off = 0, len = (int32_t)size;
  if (argc >= 2 && nla_get_int32(env, argv[1], &off) < 0) return NULL;
  if (argc >= 3 && nla_get_int32(env, argv[2], &len) < 0) return NULL;
  int32_t port = 0;
  if (argc >= 4 && nla_get_int32(env, argv[3], &port) < 0) return NULL;
  if (off < 0 || len < 0 || (size_t)off + (size_t)len > size) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "send: offset/length outside the buffer");
    return NULL;
  }
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK, .nl_pid = (uint32_t)port};
  ssize_t n;
  do {
    n = sendto(s->fd, (unsigned char *)data + off, (size_t)len, 0, (struct sockaddr *)&kernel, sizeof kernel);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    nla_throw_errno(env, errno, "sendto", NULL);
    return NULL;
  }
  napi_value out;
  NAPI_CALL(env, napi_create_int64(env, (int64_t)n, &out));
  return out;
}

/* queueSend(buffer, offset, length, tag, portId = 0): the chunk is copied and sent by the
 * socket's send thread (sender.h) while the caller goes on; this waits only while the thread's
 * queue is full. A failed send is reported by sendFailures() under its tag. */
static napi_value sock_queue_send(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  nlsock_t *s = unwrap_open(env, info, &argc, argv);
  if (!s) return NULL;
  void *data;
  size_t size;
  if (argc < 4 || napi_get_buffer_info(env, argv[0], &data, &size) != napi_ok) {
    nla_throw_type(env, "queueSend(buffer, offset, length, tag): buffer must be a Buffer");
    return NULL;
  }
  int32_t off, len, port = 0;
  uint32_t tag;
  if (nla_get_int32(env, argv[1], &off) < 0 || nla_get_int32(env, argv[2], &len) < 0) return NULL;
  if (napi_get_value_uint32(env, argv[3], &tag) != napi_ok) {
    nla_throw_type(env, "queueSend: tag must be a number");
    return NULL;
  }
  if (argc >= 5 && nla_get_int32(env, argv[4], &port) < 0) return NULL;
  if (off < 0 || len < 0 || (size_t)off + (size_t)len > size) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "queueSend: offset/length outside the buffer");
    return NULL;
  }
  if (!s->sender && !(s->sender = nla_sender_start(s->fd))) {
    nla_throw_errno(env, errno, "pthread_create", NULL);
    return NULL;
  }
  int rc = nla_sender_queue(s->sender, (unsigned char *)data + off, (size_t)len, (uint32_t)port, tag);
  if (rc != 0) nla_throw_errno(env, rc, "queueSend", NULL);
  return NULL;
}

/* flushSend(max = 0) -> how many chunks are still queued or being sent: waits until at most
 * max are (0: every queued chunk has been sent or has failed). */
static napi_value sock_flush_send(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  nlsock_t *s = unwrap(env, info, &argc, argv);
  if (!s) return NULL;
  int32_t max = 0;
  if (argc >= 1) {
    napi_valuetype t;
    napi_typeof(env, argv[0], &t);
    if (t == napi_number && nla_get_int32(env, argv[0], &max) < 0) return NULL;
  }
  napi_value out;
  NAPI_CALL(env, napi_create_uint32(env, s->sender ? (uint32_t)nla_sender_flush(s->sender, max < 0 ? 0 : (size_t)max) : 0, &out));
  return out;
}

/* JS null (NULL with an exception pending when N-API fails). */
static napi_value js_null(napi_env env) {
  napi_value nul;
  NAPI_CALL(env, napi_get_null(env, &nul));
  return nul;
}

/* sendFailures() -> null, or [tag, errno, tag, errno, ...] of the queued chunks whose send
 * failed since the last call, oldest first. */
static napi_value sock_send_failures(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  nlsock_t *s = unwrap(env, info, &argc, NULL);
  if (!s) return NULL;
  uint32_t pairs[2 * 64];
  size_t n = s->sender ? nla_sender_failures(s->sender, pairs, 64) : 0;
  napi_value out, v;
  if (!n) return js_null(env);
  NAPI_CALL(env, napi_create_array_with_length(env, 2 * n, &out));
  for (size_t i = 0; i < 2 * n; i++) {
    NAPI_CALL(env, napi_create_uint32(env, pairs[i], &v));
    NAPI_CALL(env, napi_set_element(env, out, (uint32_t)i, v));
  }
  return out;
}

/* ---------- receive ---------- */

static const nla_rx_t *read_batch(napi_env env, nlsock_t *s, size_t argc, napi_value *argv);

/* Builds [data Buffer | null, meta Buffer (u32 LE: offset, length, portId, flags) | null, errno]. */
static napi_value make_batch(napi_env env, const nla_rx_t *b) {
  napi_value arr, data, meta, e, nul;
  NAPI_CALL(env, napi_create_array_with_length(env, 3, &arr));
  NAPI_CALL(env, napi_get_null(env, &nul));
  if (b->count) {
    NAPI_CALL(env, napi_create_buffer_copy(env, b->used, b->data, NULL, &data));
    NAPI_CALL(env, napi_create_buffer_copy(env, b->count * NLA_META_FIELDS * sizeof(uint32_t), b->meta, NULL, &meta));
  } else {
    data = nul;
    meta = nul;
  }
  NAPI_CALL(env, napi_create_int32(env, b->err, &e));
  napi_set_element(env, arr, 0, data);
  napi_set_element(env, arr, 1, meta);
  napi_set_element(env, arr, 2, e);
  return arr;
}

/* drain(maxBytes?, readAhead = false) -> null when nothing is ready, else [data, meta, errno].
 * Synchronous. With readAhead, a slice that filled up (a dump in progress) starts the read of
 * the next one on the read-ahead thread, which the next drain() returns: the kernel fills it
 * while the caller parses this one. Reads stay in order: a pending read-ahead is always
 * returned before the socket is read again. */
static napi_value sock_drain(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  nlsock_t *s = unwrap_open(env, info, &argc, argv);
  if (!s) return NULL;
  const nla_rx_t *b = read_batch(env, s, argc, argv);
  if (!b) return NULL;
  if (!b->count && !b->err) return js_null(env); /* nothing ready */
  return make_batch(env, b);
}

/* Reads one batch as drain(maxBytes?, readAhead?) does, those two taken from argv: a pending
 * read-ahead first; kicks the next read-ahead when asked and the slice filled up. NULL with a
 * JS exception pending when maxBytes is not an int32. */
static const nla_rx_t *read_batch(napi_env env, nlsock_t *s, size_t argc, napi_value *argv) {
  int32_t max = DRAIN_DEFAULT_MAX;
  bool ahead = false;
  if (argc >= 1) {
    napi_valuetype t;
    napi_typeof(env, argv[0], &t);
    if (t == napi_number && nla_get_int32(env, argv[0], &max) < 0) return NULL;
  }
  if (argc >= 2) napi_get_value_bool(env, argv[1], &ahead);
  size_t limit = (size_t)(max > 0 ? max : DRAIN_DEFAULT_MAX);
  const nla_rx_t *b;
  if (s->reader && nla_reader_pending(s->reader)) {
    b = nla_reader_take(s->reader);
  } else {
    nla_rx_read(s->fd, &s->rx, limit);
    b = &s->rx;
  }
  if (ahead && b->full && !b->err) {
    if (!s->reader) s->reader = nla_reader_start(s->fd); /* without one, read as before */
    if (s->reader) nla_reader_kick(s->reader, limit);
  }
  return b;
}

/* drainInto(data, meta, maxBytes, readAhead) -> drain() into the caller's buffers, which it
 * keeps from call to call: no Buffer is made per batch, so a 100k-route dump leaves no
 * megabytes of dead external memory behind it for the GC to find (see W7).
 *   null: nothing ready;
 *   a number: (errno << 16) | count, the datagrams copied into data and their table into meta
 *     (NLA_META_FIELDS u32 per datagram, as drain()'s);
 *   [data, meta, errno] as drain() returns, when the batch does not fit the buffers given. */
static napi_value sock_drain_into(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  nlsock_t *s = unwrap_open(env, info, &argc, argv);
  if (!s) return NULL;
  void *data = NULL, *meta = NULL;
  size_t data_len = 0, meta_len = 0;
  if (argc < 2 || napi_get_buffer_info(env, argv[0], &data, &data_len) != napi_ok ||
      napi_get_buffer_info(env, argv[1], &meta, &meta_len) != napi_ok) {
    napi_throw_type_error(env, NULL, "drainInto(data, meta, maxBytes?, readAhead?): data and meta must be Buffers");
    return NULL;
  }
  const nla_rx_t *b = read_batch(env, s, argc - 2, argv + 2);
  if (!b) return NULL;
  if (!b->count && !b->err) return js_null(env); /* nothing ready */
  size_t meta_bytes = b->count * NLA_META_FIELDS * sizeof(uint32_t);
  if (b->used > data_len || meta_bytes > meta_len || b->count > 0xffff || b->err < 0 || b->err > 0x7fff)
    return make_batch(env, b);
  if (b->count) {
    memcpy(data, b->data, b->used);
    memcpy(meta, b->meta, meta_bytes);
  }
  napi_value out;
  NAPI_CALL(env, napi_create_int32(env, (int32_t)(((uint32_t)b->err << 16) | (uint32_t)b->count), &out));
  return out;
}

/* Calls the JS callback with one batch. */
static void deliver(napi_env env, nlsock_t *s, const nla_rx_t *b) {
  napi_value batch = make_batch(env, b);
  napi_value cb, self, argv[3], result;
  if (batch && napi_get_reference_value(env, s->callback, &cb) == napi_ok &&
      napi_get_reference_value(env, s->self, &self) == napi_ok) {
    napi_get_element(env, batch, 0, &argv[0]);
    napi_get_element(env, batch, 1, &argv[1]);
    napi_get_element(env, batch, 2, &argv[2]);
    if (napi_make_callback(env, s->async, self, cb, 3, argv, &result) == napi_pending_exception) {
      napi_value ex;
      napi_get_and_clear_last_exception(env, &ex);
      napi_fatal_exception(env, ex);
    }
  }
}

static void on_readable(uv_poll_t *h, int status, int events) {
  nlsock_t *s = h->data;
  if (!s || s->fd < 0 || !s->callback) return;
  napi_env env = s->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  /* A slice read ahead comes first (drain() leaves none pending, but keep the order anyway). */
  if (s->reader && nla_reader_pending(s->reader)) {
    const nla_rx_t *ahead = nla_reader_take(s->reader);
    if (ahead->count || ahead->err) deliver(env, s, ahead);
  }
  if (s->fd >= 0 && s->callback) {
    nla_rx_t *b = &s->rx;
    if (status == UV_EBADF) {
      /* POLLERR: the kernel dropped messages for us (a pending ENOBUFS). libuv reports it as
       * EBADF and stops the watcher; recvmsg() reports and clears the socket error, and the
       * watcher must be started again or the socket goes silent for good. */
      nla_rx_read(s->fd, b, DRAIN_DEFAULT_MAX);
      if (!b->err) b->err = ENOBUFS;
      if (s->poll) uv_poll_start(s->poll, UV_READABLE, on_readable);
    } else if (status < 0) {
      b->count = b->used = 0;
      b->err = -status;
    } else {
      nla_rx_read(s->fd, b, DRAIN_DEFAULT_MAX);
    }
    if (b->count || b->err) deliver(env, s, b);
  }
  napi_close_handle_scope(env, scope);
}

/* start(callback): deliver every ready batch to callback(data, meta, errno) from the loop. */
static napi_value sock_start(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  nlsock_t *s = unwrap_open(env, info, &argc, argv);
  if (!s) return NULL;
  napi_valuetype t;
  if (argc < 1 || napi_typeof(env, argv[0], &t) != napi_ok || t != napi_function) {
    nla_throw_type(env, "start(callback): callback must be a function");
    return NULL;
  }
  if (s->callback) napi_delete_reference(env, s->callback);
  NAPI_CALL(env, napi_create_reference(env, argv[0], 1, &s->callback));
  if (!s->poll) {
    uv_loop_t *loop;
    NAPI_CALL(env, napi_get_uv_event_loop(env, &loop));
    s->poll = malloc(sizeof *s->poll);
    if (!s->poll) {
      nla_throw_errno(env, ENOMEM, "malloc", NULL);
      return NULL;
    }
    int rc = uv_poll_init(loop, s->poll, s->fd);
    if (rc < 0) {
      free(s->poll);
      s->poll = NULL;
      nla_throw_errno(env, -rc, "uv_poll_init", NULL);
      return NULL;
    }
    s->poll->data = s;
  }
  int rc = uv_poll_start(s->poll, UV_READABLE, on_readable);
  if (rc < 0) {
    nla_throw_errno(env, -rc, "uv_poll_start", NULL);
    return NULL;
  }
  if (!s->want_ref) uv_unref((uv_handle_t *)s->poll);
  if (!s->polling) {
    s->polling = 1;
    uint32_t count;
    napi_reference_ref(env, s->self, &count);
  }
  return NULL;
}

static napi_value sock_stop(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  nlsock_t *s = unwrap(env, info, &argc, NULL);
  if (!s) return NULL;
  stop_polling(s);
  return NULL;
}

/* wipeReceive(): zeroes the receive scratch (and the read-ahead slices not being filled), which
 * still holds the replies drain() copied out: after a reply that carried a secret. */
static napi_value sock_wipe_receive(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  nlsock_t *s = unwrap(env, info, &argc, NULL);
  if (!s) return NULL;
  nla_rx_wipe(&s->rx);
  if (s->reader) nla_reader_wipe_idle(s->reader);
  return NULL;
}

/* receiveScratchIncludes(buffer) -> whether the receive scratch holds those bytes anywhere.
 * For tests of wipeReceive(): it answers yes or no and copies nothing out. */
static napi_value sock_scratch_includes(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  nlsock_t *s = unwrap(env, info, &argc, argv);
  if (!s) return NULL;
  void *data;
  size_t size;
  if (argc < 1 || napi_get_buffer_info(env, argv[0], &data, &size) != napi_ok) {
    nla_throw_type(env, "receiveScratchIncludes(buffer): buffer must be a Buffer");
    return NULL;
  }
  int found = nla_rx_includes(&s->rx, data, size) || (s->reader && nla_reader_includes(s->reader, data, size));
  napi_value r;
  NAPI_CALL(env, napi_get_boolean(env, found, &r));
  return r;
}

/* ref(bool): whether an active receive keeps the event loop alive. */
static napi_value sock_ref(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  nlsock_t *s = unwrap(env, info, &argc, argv);
  if (!s) return NULL;
  bool on = true;
  if (argc >= 1) napi_get_value_bool(env, argv[0], &on);
  s->want_ref = on;
  if (s->poll) {
    if (on)
      uv_ref((uv_handle_t *)s->poll);
    else
      uv_unref((uv_handle_t *)s->poll);
  }
  return NULL;
}

static napi_value sock_close(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  nlsock_t *s = unwrap(env, info, &argc, NULL);
  if (!s) return NULL;
  close_socket(s);
  /* The callback closes over the JS socket, which holds this wrapper: keeping the reference
   * until finalize would keep both alive forever. Buffers are not needed after close either. */
  if (s->callback) {
    napi_delete_reference(env, s->callback);
    s->callback = NULL;
  }
  nla_rx_free(&s->rx);
  return NULL;
}

napi_value nla_init_socket(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
      {"portId", NULL, sock_port_id, NULL, NULL, NULL, napi_default, NULL},
      {"fd", NULL, sock_fd, NULL, NULL, NULL, napi_default, NULL},
      {"setOption", NULL, sock_set_option, NULL, NULL, NULL, napi_default, NULL},
      {"getOption", NULL, sock_get_option, NULL, NULL, NULL, napi_default, NULL},
      {"setBuffer", NULL, sock_set_buffer, NULL, NULL, NULL, napi_default, NULL},
      {"send", NULL, sock_send, NULL, NULL, NULL, napi_default, NULL},
      {"queueSend", NULL, sock_queue_send, NULL, NULL, NULL, napi_default, NULL},
      {"flushSend", NULL, sock_flush_send, NULL, NULL, NULL, napi_default, NULL},
      {"sendFailures", NULL, sock_send_failures, NULL, NULL, NULL, napi_default, NULL},
      {"drain", NULL, sock_drain, NULL, NULL, NULL, napi_default, NULL},
      {"drainInto", NULL, sock_drain_into, NULL, NULL, NULL, napi_default, NULL},
      {"start", NULL, sock_start, NULL, NULL, NULL, napi_default, NULL},
      {"stop", NULL, sock_stop, NULL, NULL, NULL, napi_default, NULL},
      {"ref", NULL, sock_ref, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, sock_close, NULL, NULL, NULL, napi_default, NULL},
      {"wipeReceive", NULL, sock_wipe_receive, NULL, NULL, NULL, napi_default, NULL},
      {"receiveScratchIncludes", NULL, sock_scratch_includes, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_value cls;
  NAPI_CALL(env, napi_define_class(env, "NlSocket", NAPI_AUTO_LENGTH, sock_new, NULL,
                                   sizeof methods / sizeof methods[0], methods, &cls));
  NAPI_CALL(env, napi_set_named_property(env, exports, "NlSocket", cls));
  return exports;
}
