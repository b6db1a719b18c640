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

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

/* Room kept free for the next datagram: the kernel fills dump datagrams up to 32 KiB. */
#define DATAGRAM_ROOM (64 * 1024)
#define SCRATCH_INITIAL (256 * 1024)
#define DRAIN_DEFAULT_MAX (4 * 1024 * 1024)
#define META_FIELDS 4
#define META_FLAG_TRUNC 1u

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
  unsigned char *scratch;
  size_t scratch_size;
  uint32_t *meta;
  size_t meta_cap;
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
  free(s->scratch);
  free(s->meta);
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

/* ---------- receive ---------- */

static int ensure_room(nlsock_t *s, size_t used, size_t max) {
  if (s->scratch_size - used >= DATAGRAM_ROOM) return 1;
  size_t want = s->scratch_size ? s->scratch_size * 2 : SCRATCH_INITIAL;
  if (want > max) want = max;
  if (want < used + DATAGRAM_ROOM) return 0;
  unsigned char *p = realloc(s->scratch, want);
  if (!p) return 0;
  s->scratch = p;
  s->scratch_size = want;
  return 1;
}

static int ensure_meta(nlsock_t *s, size_t count) {
  if ((count + 1) * META_FIELDS <= s->meta_cap) return 1;
  size_t want = s->meta_cap ? s->meta_cap * 2 : 1024 * META_FIELDS;
  uint32_t *p = realloc(s->meta, want * sizeof *p);
  if (!p) return 0;
  s->meta = p;
  s->meta_cap = want;
  return 1;
}

/* Reads every ready datagram (up to max bytes). Returns the count; *err gets the first socket
 * error other than EAGAIN (ENOBUFS means the kernel dropped messages for us). */
static size_t drain_into(nlsock_t *s, size_t max, size_t *used_out, int *err) {
  size_t used = 0, count = 0;
  *err = 0;
  if (max < SCRATCH_INITIAL) max = SCRATCH_INITIAL;
  while (s->fd >= 0 && ensure_room(s, used, max) && ensure_meta(s, count)) {
    struct sockaddr_nl from;
    struct iovec iov = {s->scratch + used, s->scratch_size - used};
    struct msghdr msg = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1};
    ssize_t n = recvmsg(s->fd, &msg, MSG_DONTWAIT | MSG_TRUNC);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) *err = errno;
      break;
    }
    uint32_t flags = 0;
    size_t got = (size_t)n;
    if ((msg.msg_flags & MSG_TRUNC) || got > iov.iov_len) {
      flags |= META_FLAG_TRUNC;
      if (got > iov.iov_len) got = iov.iov_len;
    }
    uint32_t *m = s->meta + count * META_FIELDS;
    m[0] = (uint32_t)used;
    m[1] = (uint32_t)got;
    m[2] = from.nl_pid;
    m[3] = flags;
    count++;
    used += (got + 3) & ~(size_t)3;
  }
  *used_out = used;
  return count;
}

/* Builds [data Buffer | null, meta Buffer (u32 LE: offset, length, portId, flags) | null, errno]. */
static napi_value make_batch(napi_env env, nlsock_t *s, size_t count, size_t used, int err) {
  napi_value arr, data, meta, e, nul;
  NAPI_CALL(env, napi_create_array_with_length(env, 3, &arr));
  NAPI_CALL(env, napi_get_null(env, &nul));
  if (count) {
    NAPI_CALL(env, napi_create_buffer_copy(env, used, s->scratch, NULL, &data));
    NAPI_CALL(env, napi_create_buffer_copy(env, count * META_FIELDS * sizeof(uint32_t), s->meta, NULL, &meta));
  } else {
    data = nul;
    meta = nul;
  }
  NAPI_CALL(env, napi_create_int32(env, err, &e));
  napi_set_element(env, arr, 0, data);
  napi_set_element(env, arr, 1, meta);
  napi_set_element(env, arr, 2, e);
  return arr;
}

/* drain(maxBytes?) -> null when nothing is ready, else [data, meta, errno]. Synchronous. */
static napi_value sock_drain(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  nlsock_t *s = unwrap_open(env, info, &argc, argv);
  if (!s) return NULL;
  int32_t max = DRAIN_DEFAULT_MAX;
  if (argc >= 1) {
    napi_valuetype t;
    napi_typeof(env, argv[0], &t);
    if (t == napi_number && nla_get_int32(env, argv[0], &max) < 0) return NULL;
  }
  size_t used;
  int err;
  size_t count = drain_into(s, (size_t)(max > 0 ? max : DRAIN_DEFAULT_MAX), &used, &err);
  if (!count && !err) {
    napi_value nul;
    napi_get_null(env, &nul);
    return nul;
  }
  return make_batch(env, s, count, used, err);
}

static void on_readable(uv_poll_t *h, int status, int events) {
  nlsock_t *s = h->data;
  if (!s || s->fd < 0 || !s->callback) return;
  napi_env env = s->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  size_t used = 0, count = 0;
  int err = 0;
  if (status == UV_EBADF && s->fd >= 0) {
    /* POLLERR: the kernel dropped messages for us (a pending ENOBUFS). libuv reports it as
     * EBADF and stops the watcher; recvmsg() reports and clears the socket error, and the
     * watcher must be started again or the socket goes silent for good. */
    count = drain_into(s, DRAIN_DEFAULT_MAX, &used, &err);
    if (!err) err = ENOBUFS;
    uv_poll_start(s->poll, UV_READABLE, on_readable);
  } else if (status < 0) {
    err = -status;
  } else {
    count = drain_into(s, DRAIN_DEFAULT_MAX, &used, &err);
  }
  if (count || err) {
    napi_value batch = make_batch(env, s, count, used, err);
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
  free(s->scratch);
  s->scratch = NULL;
  s->scratch_size = 0;
  free(s->meta);
  s->meta = NULL;
  s->meta_cap = 0;
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
      {"drain", NULL, sock_drain, NULL, NULL, NULL, napi_default, NULL},
      {"start", NULL, sock_start, NULL, NULL, NULL, napi_default, NULL},
      {"stop", NULL, sock_stop, NULL, NULL, NULL, napi_default, NULL},
      {"ref", NULL, sock_ref, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, sock_close, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_value cls;
  NAPI_CALL(env, napi_define_class(env, "NlSocket", NAPI_AUTO_LENGTH, sock_new, NULL,
                                   sizeof methods / sizeof methods[0], methods, &cls));
  NAPI_CALL(env, napi_set_named_property(env, exports, "NlSocket", cls));
  return exports;
}
