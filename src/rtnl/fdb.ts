// PLACEHOLDER: to be implemented (see the issue for this object kind).
import type { MessageView } from '../wire/reader';
import type { RtnlContext } from './context';
import type { FdbEntry } from './types';

export class Fdb {
  constructor(protected readonly ctx: RtnlContext) {}
}

/** Decodes one RTM_NEWxxx or RTM_DELxxx message of this kind (used by list() and the monitor). */
export function parseFdbMessage(m: MessageView): FdbEntry {
  throw new Error(`parseFdbMessage: not implemented (type ${m.type})`);
}
