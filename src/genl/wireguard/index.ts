/**
 * WireGuard over generic netlink: keys and key files, the device objects, the wire codec with
 * the kernel's message limits, the minimal per-peer plan, and the WireGuard handle.
 */
export * as wgConstants from './constants';
export * from './key';
export * from './keyfile';
export * from './types';
export * from './validate';
export * from './codec';
export * from './plan';
export * from './device';
