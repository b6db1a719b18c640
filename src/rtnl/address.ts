// PLACEHOLDER: to be implemented (see the issue for this object kind).
import type { MessageView } from '../wire/reader';
import type { RtnlContext } from './context';
import type { Address } from './types';

export class Addresses {
  constructor(protected readonly ctx: RtnlContext) {}
}

/** Decodes one RTM_NEWxxx or RTM_DELxxx message of this kind (used by list() and the monitor). */
export function parseAddressMessage(m: MessageView): Address {
  throw new Error(`parseAddressMessage: not implemented (type ${m.type})`);
}
