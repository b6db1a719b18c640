/* The send thread of a netlink socket: see sender.h. */
#include "sender.h"

#include <errno.h>
#include <linux/netlink.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* The thread only calls sendto(): a small stack is plenty (the default would reserve 8 MiB of
 * address space per socket that ever sent a batch). */
#define SENDER_STACK (64 * 1024)
/* Failures kept until collected. The caller collects after every chunk it queues, so at most
 * NLA_SENDER_SLOTS + 1 can be waiting: this never fills. */
#define SENDER_FAILURES 256

typedef struct {
  unsigned char *buf;
  size_t len, cap;
  uint32_t port, tag;
} slot_t;

struct nla_sender {
  int fd;
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t work; /* to the thread: a chunk was queued, or stop */
  pthread_cond_t room; /* to callers: a slot was freed */
  slot_t slots[NLA_SENDER_SLOTS];
  size_t head, count; /* ring: slots[head] is the oldest (being sent while busy) */
  int busy;           /* the thread is in sendto() with slots[head] */
  int stop;
  uint32_t failures[2 * SENDER_FAILURES];
  size_t nfailures;
};

static void *sender_main(void *p) {
  nla_sender_t *s = p;
  pthread_mutex_lock(&s->mu);
  for (;;) {
    while (!s->count && !s->stop) pthread_cond_wait(&s->work, &s->mu);
    if (s->stop) break; /* chunks not started yet are dropped: the socket is closing */
    slot_t *c = &s->slots[s->head];
    s->busy = 1;
    pthread_mutex_unlock(&s->mu);
    struct sockaddr_nl to = {.nl_family = AF_NETLINK, .nl_pid = c->port};
    ssize_t n;
    do {
      n = sendto(s->fd, c->buf, c->len, 0, (struct sockaddr *)&to, sizeof to);
    } while (n < 0 && errno == EINTR);
    int err = n < 0 ? errno : 0;
    pthread_mutex_lock(&s->mu);
    if (err && s->nfailures < SENDER_FAILURES) {
      s->failures[2 * s->nfailures] = c->tag;
      s->failures[2 * s->nfailures + 1] = (uint32_t)err;
      s->nfailures++;
    }
    s->busy = 0;
    s->head = (s->head + 1) % NLA_SENDER_SLOTS;
    s->count--;
    pthread_cond_broadcast(&s->room);
  }
  s->count = 0;
  pthread_cond_broadcast(&s->room);
  pthread_mutex_unlock(&s->mu);
  return NULL;
}

nla_sender_t *nla_sender_start(int fd) {
  nla_sender_t *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  s->fd = fd;
  pthread_mutex_init(&s->mu, NULL);
  pthread_cond_init(&s->work, NULL);
  pthread_cond_init(&s->room, NULL);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, SENDER_STACK);
  int rc = pthread_create(&s->thread, &attr, sender_main, s);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    pthread_cond_destroy(&s->room);
    pthread_cond_destroy(&s->work);
    pthread_mutex_destroy(&s->mu);
    free(s);
    errno = rc;
    return NULL;
  }
  pthread_setname_np(s->thread, "nla-send"); /* how tests and `top -H` find it */
  return s;
}

int nla_sender_queue(nla_sender_t *s, const void *data, size_t len, uint32_t port, uint32_t tag) {
  pthread_mutex_lock(&s->mu);
  while (s->count == NLA_SENDER_SLOTS) pthread_cond_wait(&s->room, &s->mu);
  slot_t *c = &s->slots[(s->head + s->count) % NLA_SENDER_SLOTS];
  pthread_mutex_unlock(&s->mu);
  /* The free slot is the caller's alone until it is counted: fill it without the lock, so the
   * thread can finish a send meanwhile. */
  if (len > c->cap) {
    unsigned char *p = realloc(c->buf, len);
    if (!p) return ENOMEM;
    c->buf = p;
    c->cap = len;
  }
  memcpy(c->buf, data, len);
  c->len = len;
  c->port = port;
  c->tag = tag;
  pthread_mutex_lock(&s->mu);
  s->count++;
  pthread_cond_signal(&s->work);
  pthread_mutex_unlock(&s->mu);
  return 0;
}

size_t nla_sender_flush(nla_sender_t *s, size_t max) {
  pthread_mutex_lock(&s->mu);
  while (s->count > max) pthread_cond_wait(&s->room, &s->mu);
  size_t left = s->count;
  pthread_mutex_unlock(&s->mu);
  return left;
}

size_t nla_sender_failures(nla_sender_t *s, uint32_t *out, size_t max) {
  pthread_mutex_lock(&s->mu);
  size_t n = s->nfailures < max ? s->nfailures : max;
  memcpy(out, s->failures, n * 2 * sizeof *out);
  memmove(s->failures, s->failures + 2 * n, (s->nfailures - n) * 2 * sizeof *out);
  s->nfailures -= n;
  pthread_mutex_unlock(&s->mu);
  return n;
}

void nla_sender_stop(nla_sender_t *s) {
  pthread_mutex_lock(&s->mu);
  s->stop = 1;
  pthread_cond_broadcast(&s->work);
  pthread_mutex_unlock(&s->mu);
  pthread_join(s->thread, NULL);
  pthread_cond_destroy(&s->room);
  pthread_cond_destroy(&s->work);
  pthread_mutex_destroy(&s->mu);
  for (size_t i = 0; i < NLA_SENDER_SLOTS; i++) free(s->slots[i].buf);
  free(s);
}
