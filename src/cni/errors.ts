/**
 * The CNI specification's error result: a numeric code, a short message and details, printed as
 * JSON on stdout with a non-zero exit. Codes 0-99 are the spec's; 100+ are this plugin's own.
 */

/** The well-known codes of the CNI specification (1.1.0, "Error" result type). */
export const CNI_ERR = {
  /** The cniVersion is not one this plugin speaks. */
  INCOMPATIBLE_VERSION: 1,
  /** A field of the network configuration is not supported (the message names it). */
  UNSUPPORTED_FIELD: 2,
  /** The container (its network namespace) is unknown: the runtime need not call DEL. */
  UNKNOWN_CONTAINER: 3,
  /** A CNI_* environment variable is missing or invalid (the message names it). */
  INVALID_ENVIRONMENT: 4,
  /** Reading or writing failed (stdin, the IPAM store, the runtime file). */
  IO_FAILURE: 5,
  /** stdin is not JSON, or prevResult could not be decoded. */
  DECODING_FAILURE: 6,
  /** The network configuration is invalid (the message names the field). */
  INVALID_NETWORK_CONFIG: 7,
  /** A transient condition (a busy lock): the runtime should retry later. */
  TRY_AGAIN_LATER: 11,
  /** STATUS: the plugin cannot serve ADDs now (e.g. the overlay agent has not written its file). */
  PLUGIN_NOT_AVAILABLE: 50,
  /** STATUS: as 50, and existing containers may have limited connectivity. */
  PLUGIN_NOT_AVAILABLE_LIMITED_CONNECTIVITY: 51,
  /** This plugin: the kernel refused a change (the details carry the kernel's errno and text). */
  KERNEL_REFUSED: 100,
  /** This plugin: CHECK found the attachment not as ADD left it (the details say what differs). */
  CHECK_FAILED: 101,
  /** This plugin: every address of a range set is taken. */
  NO_FREE_ADDRESS: 102,
} as const;

/** One of the codes above, or another plugin-specific number. */
export type CniErrorCode = (typeof CNI_ERR)[keyof typeof CNI_ERR] | number;

/** The JSON of an error result, as printed on stdout. */
export interface CniErrorJson {
  /** The configuration's cniVersion (or the newest this plugin speaks when that is unknown). */
  cniVersion: string;
  /** See CNI_ERR. */
  code: number;
  /** A short message. */
  msg: string;
  /** A longer explanation, when there is one. */
  details?: string;
}

/**
 * An error the plugin reports to the runtime as the spec's error result.
 *
 * @example
 * ```ts
 * throw new CniError(CNI_ERR.INVALID_NETWORK_CONFIG, 'invalid network configuration', 'ipam.ranges[0][0].subnet: ...');
 * ```
 */
export class CniError extends Error {
  /** Always 'CniError'. */
  override readonly name = 'CniError';
  constructor(
    /** See CNI_ERR. */
    readonly code: CniErrorCode,
    /** The short message (the spec's `msg`). */
    readonly msg: string,
    /** The longer explanation (the spec's `details`). */
    readonly details?: string,
  ) {
    super(details ? `${msg}: ${details}` : msg);
  }

  /** The error result for `cniVersion`. */
  toJSON(cniVersion: string): CniErrorJson {
    return { cniVersion, code: this.code, msg: this.msg, ...(this.details ? { details: this.details } : {}) };
  }
}
