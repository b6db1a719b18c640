import { errnoMessage, errnoName } from '../addon/errno';

const EPERM = 1;

/** The sentence an EPERM for a request that changes rtnetlink state carries: which privilege is missing. */
export const NEEDS_CAP_NET_ADMIN =
  'changing network configuration needs CAP_NET_ADMIN (run as root, or give the process that capability in the user namespace that owns this network namespace); reading works without it';

/**
 * What to add to the message of a refused request beyond the errno text, or undefined. The
 * kernel answers a NEW/DEL/SET request from a process without CAP_NET_ADMIN with a bare EPERM
 * ("Operation not permitted"), which does not say what is missing.
 */
export function privilegeAdvice(errno: number, modifying: boolean): string | undefined {
  return Math.abs(errno) === EPERM && modifying ? NEEDS_CAP_NET_ADMIN : undefined;
}

/** What the kernel said about a failed request, besides the errno (extended ack). */
export interface ExtendedAck {
  /** NLMSGERR_ATTR_MSG: the kernel's own text, e.g. "Unknown device type". */
  message?: string;
  /** NLMSGERR_ATTR_OFFS: byte offset of the offending attribute in the request. */
  badAttributeOffset?: number;
  /** NLMSGERR_ATTR_MISS_TYPE: attribute type the kernel expected but did not find. */
  missingAttributeType?: number;
  /** NLMSGERR_ATTR_MISS_NEST: offset of the nest the missing attribute belongs in. */
  missingNestOffset?: number;
}

/**
 * The kernel refused a request. `code` is the errno name ('EEXIST'), `errno` the positive errno
 * number, `kernelMessage` the extended-ack text when the kernel gave one.
 */
export class NetlinkError extends Error {
  override readonly name = 'NetlinkError';
  readonly code: string;
  readonly errno: number;
  readonly kernelMessage: string | undefined;
  readonly badAttributeOffset: number | undefined;
  readonly missingAttributeType: number | undefined;
  /** What was being done, e.g. "links.add vxlan0", when the caller said. */
  readonly operation: string | undefined;

  constructor(errno: number, ack: ExtendedAck = {}, operation?: string, detail?: string) {
    const code = errnoName(errno);
    const parts = [`${code}: ${errnoMessage(errno)}`];
    if (ack.message) parts.push(`kernel says: ${ack.message}`);
    if (detail) parts.push(detail);
    super(operation ? `${operation}: ${parts.join('; ')}` : parts.join('; '));
    this.errno = Math.abs(errno);
    this.code = code;
    this.kernelMessage = ack.message;
    this.badAttributeOffset = ack.badAttributeOffset;
    this.missingAttributeType = ack.missingAttributeType;
    this.operation = operation;
  }
}

/** Bytes that are not a well-formed netlink message. Never thrown for valid kernel output. */
export class NetlinkParseError extends Error {
  override readonly name = 'NetlinkParseError';
  readonly code = 'ERR_NETLINK_PARSE';
  /** Offset in the buffer where parsing failed. */
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(`${message} (at byte ${offset})`);
    this.offset = offset;
  }
}

/** A request or dump that got no answer in time. */
export class NetlinkTimeoutError extends Error {
  override readonly name = 'NetlinkTimeoutError';
  readonly code = 'ETIMEDOUT';
  constructor(what: string, ms: number) {
    super(`${what}: no answer from the kernel within ${ms} ms`);
  }
}

/** The socket was closed while the request was pending. */
export class NetlinkClosedError extends Error {
  override readonly name = 'NetlinkClosedError';
  readonly code = 'ERR_NETLINK_CLOSED';
  constructor(what: string) {
    super(`${what}: the netlink socket was closed`);
  }
}
