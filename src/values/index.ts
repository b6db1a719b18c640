/**
 * The values layer, at the bottom of the house: addresses, prefixes, MACs, names, and the
 * Problems/ValidationError every layer above reports bad input with. No I/O.
 */
export * from './ip';
export * from './mac';
export * from './problems';
export * from './address';
export * from './prefix';
export * from './names';
// Desired states of objects that cannot change are planned by identity (scoped cycles) and
// prepared once (a kind's list handed back): deepFreeze makes one, isDeepFrozen tells.
export { deepFreeze, isDeepFrozen } from './plain';
