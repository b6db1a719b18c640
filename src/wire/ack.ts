import {
  NLMSGERR_ATTR_MISS_NEST,
  NLMSGERR_ATTR_MISS_TYPE,
  NLMSGERR_ATTR_MSG,
  NLMSGERR_ATTR_OFFS,
  NLMSG_HDRLEN,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  nlAlign,
} from './constants';
import type { ExtendedAck } from './errors';
import { NetlinkParseError } from './errors';
import { forEachAttr, readString, readU32, type MessageView } from './reader';

/** A decoded NLMSG_ERROR (or NLMSG_DONE) payload: the errno and the extended-ack details. */
export interface AckError {
  /** As the kernel sends it: 0 for success, a negative errno for failure. */
  errno: number;
  /** Extended-ack TLVs: the kernel's message, bad attribute offset, missing attribute. */
  ack: ExtendedAck;
}

/**
 * Decodes an NLMSG_ERROR payload (struct nlmsgerr: int error; struct nlmsghdr msg; [echoed
 * payload unless NLM_F_CAPPED]; [extended-ack TLVs if NLM_F_ACK_TLVS]) or, with done = true, an
 * NLMSG_DONE payload (int error; [TLVs]).
 */
export function parseAckError(m: MessageView, done = false): AckError {
  const { buf, payload, end } = m;
  if (end - payload < 4) throw new NetlinkParseError('error message shorter than its errno', payload);
  const errno = buf.readInt32LE(payload);
  const ack: ExtendedAck = {};
  if (!(m.flags & NLM_F_ACK_TLVS)) return { errno, ack };
  let tlv = payload + 4;
  if (!done) {
    if (end - tlv < NLMSG_HDRLEN) throw new NetlinkParseError('error message without the echoed header', tlv);
    const echoedLen = buf.readUInt32LE(tlv);
    const skip = m.flags & NLM_F_CAPPED ? NLMSG_HDRLEN : echoedLen;
    // Compare before aligning: nlAlign of a length near 2^32 would wrap negative.
    if (skip > end - tlv) throw new NetlinkParseError(`echoed request of ${echoedLen} bytes runs past the message`, payload + 4);
    tlv = Math.min(end, tlv + nlAlign(skip));
  }
  forEachAttr(buf, tlv, end, (type, off, len) => {
    if (type === NLMSGERR_ATTR_MSG) ack.message = readString(buf, off, len);
    else if (type === NLMSGERR_ATTR_OFFS) ack.badAttributeOffset = readU32(buf, off, len);
    else if (type === NLMSGERR_ATTR_MISS_TYPE) ack.missingAttributeType = readU32(buf, off, len);
    else if (type === NLMSGERR_ATTR_MISS_NEST) ack.missingNestOffset = readU32(buf, off, len);
  });
  return { errno, ack };
}
