/**
 * The CNI plugin: the spec's commands, built-in host-local-compatible IPAM, and attaching pods over rtnetlink.
 *
 * @module
 */
export { CniError, CNI_ERR, type CniErrorCode, type CniErrorJson } from './errors';
export { SUPPORTED_VERSIONS, LATEST_VERSION, toVersion, parseResult, type CniVersion, type CniResult, type CniInterface, type CniIpConfig, type CniRoute, type CniDns } from './result';
export { parseNetConf, DEFAULT_DATA_DIR, type NetConf, type IpamConf, type CniMode, type PodRoute, type Attachment } from './config';
export { parseEnv, type CniEnv, type CniCommand } from './env';
export { runPlugin, type PluginOutcome } from './plugin';
export { gcOrphans, type RtnlOpener } from './commands';
export { hostVethName, ownerAlias } from './names';
export { ReservationStore, type Reservation } from './ipam/store';
export type { IpRange } from './ipam/range';
