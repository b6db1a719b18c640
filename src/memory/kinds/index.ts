/**
 * The link kinds the in-memory kernel has, by IFLA_INFO_KIND. Adding one is a file here and a
 * line below.
 */
import type { LinkKind } from '../device';
import { bridge } from './bridge';
import { ipip } from './ipip';
import { macvlan } from './macvlan';
import { veth } from './veth';
import { vxlan } from './vxlan';

/** Every kind the in-memory kernel can create. */
export const KINDS: readonly LinkKind[] = [veth, vxlan, bridge, macvlan, ipip];
