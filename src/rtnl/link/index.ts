// PLACEHOLDER: to be implemented (see the issue for this object kind).
import type { MessageView } from '../../wire/reader';
import type { RtnlContext } from '../context';
import type { Link } from '../types';

export class Links {
  constructor(protected readonly ctx: RtnlContext) {}
}

/** Decodes one RTM_NEWxxx or RTM_DELxxx message of this kind (used by list() and the monitor). */
export function parseLinkMessage(m: MessageView): Link {
  throw new Error(`parseLinkMessage: not implemented (type ${m.type})`);
}
