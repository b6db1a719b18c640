/**
 * What a request handler of the in-memory kernel gets: the request (header, payload), the
 * namespace it works in, and how it answers.
 */
import type { MessageWriter } from '../wire/writer';
import type { NsState } from './state';

/** One request being handled. */
export interface Request {
  /** The namespace of the socket that sent it. */
  ns: NsState;
  /** nlmsghdr fields. */
  type: number;
  flags: number;
  seq: number;
  pid: number;
  /** The request's bytes: payload (after the nlmsghdr) runs from `payload` to `end`. */
  buf: Buffer;
  payload: number;
  end: number;
  /** NETLINK_GET_STRICT_CHK on the sending socket. */
  strict: boolean;
  /** Answers with one message (a GET's object; a dump's part: NLM_F_MULTI is added). */
  reply(type: number, flags: number, fill: (w: MessageWriter) => void): void;
  /** Marks a dump's replies NLM_F_DUMP_FILTERED (the kernel filtered by the request). */
  filtered(): void;
}

/** A request handler: throws KernelError to refuse. */
export type Handler = (req: Request) => void;
