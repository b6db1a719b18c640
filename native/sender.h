/*
 * A socket's send thread. rtnetlink does a request's work inside sendmsg() on the calling
 * thread, so on the JavaScript thread encoding and kernel time add up. Handing the chunks of a
 * batch to this thread lets JavaScript encode the next chunks (and read the acks of earlier
 * ones) while the kernel works: on two cores the total approaches the larger of the two.
 *
 * Chunks are copied into a small queue (the caller may reuse its buffer at once) and sent in
 * the order they were queued, so their acks come back in order. A queue of more than one keeps
 * the thread from waiting for the caller between chunks: a thread wake-up costs tens of
 * microseconds on a virtual machine, about a tenth of the kernel's work on a 16 KiB chunk.
 */
#ifndef NLA_SENDER_H
#define NLA_SENDER_H

#include <stddef.h>
#include <stdint.h>

/* How many chunks may wait or be in sendto() at once. */
#define NLA_SENDER_SLOTS 2

typedef struct nla_sender nla_sender_t;

/* Starts a thread that sends on fd. NULL with errno set on failure. */
nla_sender_t *nla_sender_start(int fd);

/* Waits while the queue is full, then queues a copy of this chunk for port (0: the kernel),
 * with a tag that names it in failures. Returns 0, or ENOMEM. */
int nla_sender_queue(nla_sender_t *s, const void *data, size_t len, uint32_t port, uint32_t tag);

/* Waits until at most max chunks are queued or being sent (0: all sent, or failed); returns
 * how many are. */
size_t nla_sender_flush(nla_sender_t *s, size_t max);

/* Moves up to max failures (tag, errno pairs, oldest first) into out; returns how many pairs.
 * A chunk's failure is recorded before the next chunk is sent: whoever reads an answer to a
 * later chunk and then calls this sees every failure before it. */
size_t nla_sender_failures(nla_sender_t *s, uint32_t *out, size_t max);

/* Stops the thread: chunks it has not started are dropped, one it is sending is finished (the
 * fd stays valid until this returns). Frees s. */
void nla_sender_stop(nla_sender_t *s);

#endif
