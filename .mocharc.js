'use strict';
// Tests run against the compiled package (dist/) and the built addon, as users would.
module.exports = {
  spec: ['test/**/*.test.js'],
  require: ['test/support/hooks.js'],
  reporter: 'test/support/reporter.js',
  timeout: 60000,
  exit: true,
};
