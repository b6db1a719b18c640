/*
 * Receiving: every ready datagram read into one scratch area plus a table of (offset, length,
 * sender port id, flags) per datagram, and a read-ahead thread for dumps.
 *
 * The kernel does a dump's work inside recvmsg(): each call returns one datagram (up to 32 KiB)
 * and fills the next. Reading a slice on the read-ahead thread while JavaScript parses the
 * previous one lets the kernel's work and the parsing overlap, as the send thread does for
 * batches (sender.h).
 */
#ifndef NLA_RX_H
#define NLA_RX_H

#include <stddef.h>
#include <stdint.h>

#define NLA_META_FIELDS 4
#define NLA_META_FLAG_TRUNC 1u

typedef struct {
  unsigned char *data;
  size_t size;
  uint32_t *meta; /* NLA_META_FIELDS per datagram: offset, length, sender port id, flags */
  size_t meta_cap;
  size_t count; /* datagrams read */
  size_t used;  /* bytes of data used (each datagram 4-aligned) */
  int err;      /* first socket error other than EAGAIN (ENOBUFS: the kernel dropped messages) */
  int full;     /* stopped because the slice was full, not because nothing was ready */
} nla_rx_t;

/* Reads every ready datagram into b, up to about max bytes (at least 256 KiB). */
void nla_rx_read(int fd, nla_rx_t *b, size_t max);
/* Zeroes the whole scratch (replies may have held a secret: a WireGuard private key). */
void nla_rx_wipe(nla_rx_t *b);
/* Whether the scratch holds `needle` anywhere (for tests of nla_rx_wipe). */
int nla_rx_includes(const nla_rx_t *b, const void *needle, size_t len);
/* Zeroes the scratch (it is freed zeroed, and zeroed when it grows). */
void nla_rx_free(nla_rx_t *b);

typedef struct nla_reader nla_reader_t;

/* Starts a read-ahead thread on fd. NULL with errno set on failure. */
nla_reader_t *nla_reader_start(int fd);
/* Starts reading the next slice (up to max bytes) on the thread. Not while one is pending. */
void nla_reader_kick(nla_reader_t *r, size_t max);
/* Whether a slice was kicked and not taken yet. */
int nla_reader_pending(nla_reader_t *r);
/* Waits for the kicked slice and returns it; it stays valid until the next take. */
nla_rx_t *nla_reader_take(nla_reader_t *r);
/* Zeroes the slices not being filled now (nla_rx_wipe). */
void nla_reader_wipe_idle(nla_reader_t *r);
/* nla_rx_includes over the slices not being filled now. */
int nla_reader_includes(nla_reader_t *r, const void *needle, size_t len);
/* Stops the thread (a read in progress is finished first). Frees r. */
void nla_reader_stop(nla_reader_t *r);

#endif
