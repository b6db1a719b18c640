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
