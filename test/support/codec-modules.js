'use strict';
/**
 * The route and link codecs' modules, each kind's in one object, as their tests name them.
 * The library imports every name from the module that defines it and the kinds' index modules
 * re-export nothing (test/package/fast-exports.test.js says why); tests read them together.
 */
const path = require('node:path');

const merge = (dir, names) => Object.assign({}, ...names.map((n) => require(path.join(__dirname, '..', '..', 'dist', dir, n))));

/** rtnl/route: its index, codec, decoder (whose parseRouteMessage is the public one), tables, ... */
exports.route = merge('rtnl/route', ['index', 'codec', 'expected', 'facts', 'fields', 'table', 'text', 'validate', 'decode']);
/** rtnl/link: its index, encoders, kind registry, validation, tables and every kind's module. */
exports.link = merge('rtnl/link', ['index', 'encode', 'kinds', 'validate', 'table', 'vxlan', 'ipip', 'bridge', 'veth', 'wireguard', 'macvlan', 'ip6tnl']);
