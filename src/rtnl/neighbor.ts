// PLACEHOLDER: to be implemented (see the issue for this object kind).
import type { MessageView } from '../wire/reader';
import type { RtnlContext } from './context';
import type { Neighbor } from './types';

export class Neighbors {
  constructor(protected readonly ctx: RtnlContext) {}
}

/** Decodes one RTM_NEWxxx or RTM_DELxxx message of this kind (used by list() and the monitor). */
export function parseNeighborMessage(m: MessageView): Neighbor {
  throw new Error(`parseNeighborMessage: not implemented (type ${m.type})`);
}
