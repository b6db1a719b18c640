'use strict';
// mocha's configuration for the VM lane (test/vm/lane.sh): the project's own (.mocharc.js), minus
// its spec (the lane names what to run), plus test/vm/slow.js (timeouts scaled for TCG).
const base = require('../../.mocharc.js');

const { spec, ...rest } = base; // eslint-disable-line no-unused-vars
module.exports = { ...rest, require: [...base.require, 'test/vm/slow.js'] };
