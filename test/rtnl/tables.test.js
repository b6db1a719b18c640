'use strict';
// The tables are the single source of each message kind: the fields validation accepts and
// their docs come from them. These tests hold every table equal to the typed interface it
// describes (names both ways, doc comments word for word), so neither can drift.
const assert = require('node:assert/strict');
const { interfaces } = require('../support/interfaces');
const { specTables, attrTables } = require('../../dist/rtnl/tables');

describe('rtnl: tables', function () {
  const ifaces = interfaces('rtnl');

  it('every spec table has a typed interface whose properties are exactly its fields, with the same docs', function () {
    const tables = specTables();
    assert.ok(tables.length >= 16, `only ${tables.length} tables`);
    for (const t of tables) {
      const iface = ifaces.get(t.name);
      assert.ok(iface, `no interface ${t.name} in src/rtnl for table ${t.name}`);
      // A kind's discriminant (`kind: 'vxlan'`) is the registry's, not a field of its table.
      const props = [...iface.props.keys()].filter((k) => !(k === 'kind' && /^Discriminant/.test(iface.props.get(k))));
      assert.deepEqual(props.sort(), [...t.names].sort(), `${t.name}: fields of the interface (${iface.file}) and of the table differ`);
      for (const name of t.names) {
        assert.equal(iface.props.get(name), t.fields[name].doc, `${t.name}.${name}: the doc comment and the table's doc differ`);
      }
    }
  });

  it('attribute tables name each kernel attribute once', function () {
    for (const t of attrTables()) {
      const seen = new Map();
      for (const [name, def] of Object.entries(t.spec)) {
        for (const type of def.type6 === undefined ? [def.type] : [def.type, def.type6]) {
          assert.ok(!seen.has(type), `${t.name}: attribute ${type} is ${seen.get(type)} and ${name}`);
          seen.set(type, name);
        }
      }
    }
  });

  it('a synonym is offered only for a field the table has, and never shadows one', function () {
    for (const t of specTables()) {
      for (const [word, meant] of Object.entries(t.synonyms)) {
        assert.ok(t.names.includes(meant), `${t.name}: ${word} -> ${meant}, which is no field`);
        assert.ok(!t.names.includes(word), `${t.name}: ${word} is a field and a synonym`);
      }
    }
  });
});
