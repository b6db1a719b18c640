/**
 * WireGuard over generic netlink: keys, key files, device configuration objects and their
 * validation (the device API and the wire codec join them here).
 */
export * from './key';
export * from './keyfile';
export * from './types';
export * from './validate';
