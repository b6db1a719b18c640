'use strict';
// Crafted route dump replies for tests of list()/forEach()/scan() without a kernel: a Routes
// object on a fake native socket, and the sample dump both the codec and facts tests send.
const wire = require('../../dist/wire');
const C = require('../../dist/rtnl/constants');
const rtnl = require('../../dist/rtnl');
const route = require('../../dist/rtnl/route');
const { FakeNative, done } = require('./fake-native');

/** A dump reply message for a Route, with nlmsg flags and rtm_flags as given. */
function routeReply(r, seq, pid, nlFlags, rtmFlags = 0) {
  const w = new wire.MessageWriter(64);
  route.encodeRoute(w, C.RTM_NEWROUTE, nlFlags, { flags: 0, ...r }, (x) => x);
  const b = Buffer.from(w.bytes());
  b.writeUInt32LE(seq, 8);
  b.writeUInt32LE(pid, 12);
  b.writeUInt32LE(rtmFlags, 16 + 8);
  return b;
}

/** The route the samples vary: table 1000, protocol 200, via 10.0.0.1 on ifindex 3. */
const BASE_ROUTE = { family: 4, table: 1000, protocol: 200, scope: 0, type: 'unicast', tos: 0, via: '10.0.0.1', dev: 3, onlink: false };

/**
 * The sample dump for request m (not yet ended): 10.1/16 as BASE_ROUTE, 10.2/16 a cached clone,
 * 10.3/16 in table 2000, 10.4/16 of protocol 3, 10.5/16 a link-scope device route.
 */
function sampleReplies(m, nl) {
  return [
    routeReply({ ...BASE_ROUTE, dst: '10.1.0.0/16' }, m.seq, m.pid, nl),
    routeReply({ ...BASE_ROUTE, dst: '10.2.0.0/16' }, m.seq, m.pid, nl, C.RTM_F_CLONED),
    routeReply({ ...BASE_ROUTE, dst: '10.3.0.0/16', table: 2000 }, m.seq, m.pid, nl),
    routeReply({ ...BASE_ROUTE, dst: '10.4.0.0/16', protocol: 3 }, m.seq, m.pid, nl),
    routeReply({ ...BASE_ROUTE, dst: '10.5.0.0/16', scope: 253, via: undefined }, m.seq, m.pid, nl),
  ];
}

/** Routes on a fake socket whose replies come from onSend([m], fake); close the socket after. */
function fakeRoutes(onSend) {
  const fake = new FakeNative();
  const socket = wire.NetlinkSocket.fromNative(fake);
  const routes = new rtnl.Routes({ socket, devices: new rtnl.DeviceResolver(socket) });
  fake.onSend = onSend;
  return { routes, socket };
}

module.exports = { routeReply, BASE_ROUTE, sampleReplies, fakeRoutes, done };
