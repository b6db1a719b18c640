// PLACEHOLDER: to be implemented (see the issue for this object kind).
import type { MessageView } from '../../wire/reader';
import type { RtnlContext } from '../context';
import type { Route } from '../types';

export class Routes {
  constructor(protected readonly ctx: RtnlContext) {}
}

/** Decodes one RTM_NEWxxx or RTM_DELxxx message of this kind (used by list() and the monitor). */
export function parseRouteMessage(m: MessageView): Route {
  throw new Error(`parseRouteMessage: not implemented (type ${m.type})`);
}
