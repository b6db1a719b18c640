'use strict';
// StoreIdentity: a new cluster id or a step back in revision means another store; a header
// etcd's grpc-proxy makes up (cluster id 0: the created response of a watch that joins one the
// proxy already holds on etcd) says nothing about the store.
const assert = require('node:assert/strict');
const { StoreIdentity } = require('../../dist/membership/store-identity');

const header = (cluster_id, revision) => ({ cluster_id, member_id: cluster_id === '0' ? '0' : '7', revision: String(revision), raft_term: cluster_id === '0' ? '0' : '2' });

describe('membership: StoreIdentity', function () {
  it('another cluster id or a revision going back is another store', function () {
    const s = new StoreIdentity();
    assert.equal(s.observe(header('11', 50)), undefined);
    assert.equal(s.observe(header('11', 60)), undefined);
    assert.match(s.observe(header('11', 40)), /revision went back from 60 to 40/);
    assert.match(s.observe(header('12', 41)), /cluster id changed from 11 to 12/);
  });

  it('a header made up by etcd grpc-proxy (cluster id 0) is ignored, whatever its revision', function () {
    const s = new StoreIdentity();
    assert.equal(s.observe(header('11', 50)), undefined);
    assert.equal(s.observe(header('0', 51)), undefined); // a joined watch's start revision
    assert.equal(s.observe(header('0', 30)), undefined);
    assert.equal(s.observe(header('11', 52)), undefined, 'the real store is still the one seen');
    assert.equal(s.lastRevision, 52n);
  });
});
