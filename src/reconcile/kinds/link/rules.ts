/** Rules other kinds check against the desired links while preparing. */
import type { Problems } from '../../../values/problems';
import type { PrepareContext } from '../../engine/kind';

/**
 * A route through a desired link that is desired down (up: false) could never be held: the
 * kernel removes the routes of a link that goes down and refuses new ones ("Nexthop device is
 * not up", ENETDOWN), so a plan would promise creates that cannot succeed. Refused with a
 * sentence, before anything is sent. (Neighbour entries are flushed when a link goes down too,
 * but the kernel accepts them on a link that is down and keeps them: those can be held.)
 */
export function checkRouteLinkUp(p: Problems, path: string, dev: string, ctx: PrepareContext): void {
  const link = ctx.links.get(dev);
  if (link === undefined || link.up !== false) return;
  p.add(
    path,
    `${dev} is desired down (${link.path}.up: false), and the kernel removes the routes of a down link and refuses new ones (ENETDOWN): this route could never be held; set up: true on the link or leave the route out`,
  );
}
