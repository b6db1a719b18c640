'use strict';
// Crafted route dump replies for tests of list()/forEach()/scan() without a kernel: a Routes
// object on a fake native socket, and the sample dump both the codec and facts tests send.
const wire = require('../../dist/wire');
const C = require('../../dist/rtnl/constants');
const rtnl = require('../../dist/rtnl');
const route = require('./codec-modules').route;
const fs = require('node:fs');
const path = require('node:path');
const { FakeNative, done } = require('./fake-native');

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'iproute2');

/** A message view of one RTM_NEWROUTE in a buffer of its own, as the socket hands them on. */
const routeView = (b, end = b.length) => ({ type: C.RTM_NEWROUTE, flags: 0, seq: 0, pid: 0, buf: b, start: 0, payload: 16, end });

/** Every IPv4/IPv6 RTM_NEWROUTE the kernel sent in the captured fixtures, each copied into a buffer of its own. */
function fixtureRoutes() {
  const out = [];
  for (const f of fs.readdirSync(FIXTURES).filter((n) => n.endsWith('.json'))) {
    const fx = JSON.parse(fs.readFileSync(path.join(FIXTURES, f), 'utf8'));
    for (const hex of fx.received || []) {
      for (const m of wire.parseMessages(Buffer.from(hex, 'hex'))) {
        const b = Buffer.from(m.buf.subarray(m.start, m.end));
        if (m.type === C.RTM_NEWROUTE && (b[16] === C.AF_INET || b[16] === C.AF_INET6)) out.push(b);
      }
    }
  }
  return out;
}

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

module.exports = { routeReply, BASE_ROUTE, sampleReplies, fakeRoutes, done, routeView, fixtureRoutes };
