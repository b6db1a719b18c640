/* Receiving into scratch buffers, and the read-ahead thread: see rx.h. */
#include "rx.h"

#include <errno.h>
#include <linux/netlink.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Room kept free for the next datagram: the kernel fills dump datagrams up to 32 KiB. */
#define DATAGRAM_ROOM (64 * 1024)
#define SCRATCH_INITIAL (256 * 1024)
#define READER_STACK (64 * 1024)

static int ensure_room(nla_rx_t *b, size_t max) {
  if (b->size - b->used >= DATAGRAM_ROOM) return 1;
  size_t want = b->size ? b->size * 2 : SCRATCH_INITIAL;
  if (want > max) want = max;
  if (want < b->used + DATAGRAM_ROOM) return 0;
  /* Not realloc(): a moved block would be freed with the replies it held (maybe a secret, see
   * nla_rx_wipe) still in it. Growing is rare: the scratch lives as long as the socket. */
  unsigned char *p = malloc(want);
  if (!p) return 0;
  if (b->data) {
    memcpy(p, b->data, b->used);
    memset(b->data, 0, b->size);
    free(b->data);
  }
  b->data = p;
  b->size = want;
  return 1;
}

static int ensure_meta(nla_rx_t *b) {
  if ((b->count + 1) * NLA_META_FIELDS <= b->meta_cap) return 1;
  size_t want = b->meta_cap ? b->meta_cap * 2 : 1024 * NLA_META_FIELDS;
  uint32_t *p = realloc(b->meta, want * sizeof *p);
  if (!p) return 0;
  b->meta = p;
  b->meta_cap = want;
  return 1;
}

void nla_rx_read(int fd, nla_rx_t *b, size_t max) {
  b->used = b->count = 0;
  b->err = 0;
  b->full = 0;
  if (max < SCRATCH_INITIAL) max = SCRATCH_INITIAL;
  for (;;) {
    if (fd < 0) break;
    if (!ensure_room(b, max) || !ensure_meta(b)) {
      b->full = 1;
      break;
    }
    struct sockaddr_nl from;
    struct iovec iov = {b->data + b->used, b->size - b->used};
    struct msghdr msg = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1};
    ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_TRUNC);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) b->err = errno;
      break;
    }
    uint32_t flags = 0;
    size_t got = (size_t)n;
    if ((msg.msg_flags & MSG_TRUNC) || got > iov.iov_len) {
      flags |= NLA_META_FLAG_TRUNC;
      if (got > iov.iov_len) got = iov.iov_len;
    }
    uint32_t *m = b->meta + b->count * NLA_META_FIELDS;
    m[0] = (uint32_t)b->used;
    m[1] = (uint32_t)got;
    m[2] = from.nl_pid;
    m[3] = flags;
    b->count++;
    b->used += (got + 3) & ~(size_t)3;
  }
}

void nla_rx_wipe(nla_rx_t *b) {
  if (b->data) memset(b->data, 0, b->size);
}

int nla_rx_includes(const nla_rx_t *b, const void *needle, size_t len) {
  return b->data && len && memmem(b->data, b->size, needle, len) != NULL;
}

void nla_rx_free(nla_rx_t *b) {
  nla_rx_wipe(b);
  free(b->data);
  free(b->meta);
  memset(b, 0, sizeof *b);
}

/* ---------- the read-ahead thread ---------- */

struct nla_reader {
  int fd;
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  nla_rx_t bufs[2]; /* the thread fills bufs[next] while the caller copies the other */
  int next;
  size_t max;
  int kicked; /* a read was asked for and not taken */
  int done;   /* ... and it is complete */
  int stop;
};

static void *reader_main(void *p) {
  nla_reader_t *r = p;
  pthread_mutex_lock(&r->mu);
  for (;;) {
    while (!(r->kicked && !r->done) && !r->stop) pthread_cond_wait(&r->cv, &r->mu);
    if (r->stop) break;
    nla_rx_t *b = &r->bufs[r->next];
    size_t max = r->max;
    pthread_mutex_unlock(&r->mu);
    nla_rx_read(r->fd, b, max);
    pthread_mutex_lock(&r->mu);
    r->done = 1;
    pthread_cond_broadcast(&r->cv);
  }
  pthread_mutex_unlock(&r->mu);
  return NULL;
}

nla_reader_t *nla_reader_start(int fd) {
  nla_reader_t *r = calloc(1, sizeof *r);
  if (!r) return NULL;
  r->fd = fd;
  pthread_mutex_init(&r->mu, NULL);
  pthread_cond_init(&r->cv, NULL);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, READER_STACK);
  int rc = pthread_create(&r->thread, &attr, reader_main, r);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    free(r);
    errno = rc;
    return NULL;
  }
  pthread_setname_np(r->thread, "nla-recv");
  return r;
}

void nla_reader_kick(nla_reader_t *r, size_t max) {
  pthread_mutex_lock(&r->mu);
  r->max = max;
  r->kicked = 1;
  r->done = 0;
  pthread_cond_broadcast(&r->cv);
  pthread_mutex_unlock(&r->mu);
}

int nla_reader_pending(nla_reader_t *r) {
  pthread_mutex_lock(&r->mu);
  int k = r->kicked;
  pthread_mutex_unlock(&r->mu);
  return k;
}

nla_rx_t *nla_reader_take(nla_reader_t *r) {
  pthread_mutex_lock(&r->mu);
  while (!r->done) pthread_cond_wait(&r->cv, &r->mu);
  nla_rx_t *b = &r->bufs[r->next];
  r->next ^= 1;
  r->kicked = r->done = 0;
  pthread_mutex_unlock(&r->mu);
  return b;
}

void nla_reader_wipe_idle(nla_reader_t *r) {
  pthread_mutex_lock(&r->mu);
  nla_rx_wipe(&r->bufs[r->next ^ 1]); /* the one taken last */
  if (!r->kicked) nla_rx_wipe(&r->bufs[r->next]); /* not being filled */
  pthread_mutex_unlock(&r->mu);
}

int nla_reader_includes(nla_reader_t *r, const void *needle, size_t len) {
  pthread_mutex_lock(&r->mu);
  int found = nla_rx_includes(&r->bufs[r->next ^ 1], needle, len) || (!r->kicked && nla_rx_includes(&r->bufs[r->next], needle, len));
  pthread_mutex_unlock(&r->mu);
  return found;
}

void nla_reader_stop(nla_reader_t *r) {
  pthread_mutex_lock(&r->mu);
  r->stop = 1;
  pthread_cond_broadcast(&r->cv);
  pthread_mutex_unlock(&r->mu);
  pthread_join(r->thread, NULL);
  pthread_cond_destroy(&r->cv);
  pthread_mutex_destroy(&r->mu);
  nla_rx_free(&r->bufs[0]);
  nla_rx_free(&r->bufs[1]);
  free(r);
}
