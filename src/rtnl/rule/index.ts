/**
 * Policy routing rules (RTM_NEWRULE / RTM_DELRULE / RTM_GETRULE, struct fib_rule_hdr + FRA_*),
 * IPv4 and IPv6: add, delete and list, one at a time or pipelined.
 *
 * Rules have no unique key in the kernel: two rules may differ in nothing but their owner, and
 * a delete removes the first rule that matches what the request names. ruleKey() defines the
 * identity a reconciler uses: family, priority, the whole selector and the whole action (see
 * its doc); the owner (protocol) is not part of it, so a foreign rule on a desired key is a
 * conflict rather than a second rule.
 */
import { NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST } from '../../wire/constants';
import { NetlinkParseError } from '../../wire/errors';
import type { MessageView } from '../../wire/reader';
import type { BatchResult } from '../../wire/socket';
import type { MessageWriter } from '../../wire/writer';
import { familyOf, parsePrefix } from '../../values/address';
import { Problems, ValidationError, describeValue as show, isObject, own } from '../../values/problems';
import { AF_INET, AF_INET6, AF_UNSPEC, FIB_RULE_HDR_LEN, FIB_RULE_INVERT, FR_ACT_TO_TBL, RTM_DELRULE, RTM_GETRULE, RTM_NEWRULE, RT_TABLE_MAIN } from '../constants';
import type { RtnlContext } from '../context';
import { PROTOCOLS, TABLES, lookup } from '../names';
import type { Rule, RuleAction, RuleFilter, RuleRange, RuleSpec } from './types';
import { FIB_RULE_HDR, FRA_ATTRS, IP_PROTOS, RULE_ACTIONS, RULE_FIELDS, RULE_FILTER_FIELDS } from './table';

export * from './types';

const ACTION_NAMES = new Map<number, RuleAction>(Object.entries(RULE_ACTIONS).map(([k, v]) => [v, k as RuleAction]));
const at = (path: string, f: string): string => (path ? `${path}.${f}` : f);

function checkRange(p: Problems, path: string, v: unknown, min: number, max: number, what: string): void {
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < min || v > max) p.add(path, `${show(v)} must be a ${what} in ${min}..${max}, or { start, end }`);
    return;
  }
  if (!isObject(v)) {
    p.add(path, `expected a ${what} or { start, end }, got ${show(v)}`);
    return;
  }
  const start = own(v, 'start');
  const end = own(v, 'end');
  for (const k of Object.keys(v)) if (k !== 'start' && k !== 'end') p.add(at(path, k), 'unknown field (expected start, end)');
  const ok = (x: unknown) => typeof x === 'number' && Number.isInteger(x) && x >= min && x <= max;
  if (!ok(start)) p.add(at(path, 'start'), `${show(start)} must be a ${what} in ${min}..${max}`);
  if (!ok(end)) p.add(at(path, 'end'), `${show(end)} must be a ${what} in ${min}..${max}`);
  if (ok(start) && ok(end) && (start as number) > (end as number)) p.add(path, `start ${String(start)} is after end ${String(end)}`);
}

function checkTable(p: Problems, path: string, v: unknown): void {
  if (v === 0) p.add(path, "0 is RT_TABLE_UNSPEC, not a table (use 'main' or 254)");
  else if (typeof v === 'string') {
    if (!Object.prototype.hasOwnProperty.call(TABLES, v)) p.add(path, `unknown table name ${show(v)} (known: ${Object.keys(TABLES).join(', ')}; or a number 1..4294967295)`);
  } else if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 0xffffffff) p.add(path, `${show(v)} must be a table name or 1..4294967295`);
}

/**
 * Checks a RuleSpec, appending every problem to p under path; returns whether it had none.
 * forDelete: a spec that selects the rule to delete may leave out what it does not match on
 * (the action too). Never throws.
 */
export function validateRuleSpec(p: Problems, path: string, x: unknown, forDelete = false): x is RuleSpec {
  const before = p.list.length;
  if (!RULE_FIELDS.check(p, path, x, 'a rule spec')) {
    if (!isObject(x)) return false;
  }
  const s = x as Record<string, unknown>;
  let fam: 0 | 4 | 6 = 0;
  const famIn = own(s, 'family');
  if (famIn !== undefined) fam = familyOf(famIn) ?? 0;
  for (const f of ['from', 'to'] as const) {
    const v = own(s, f);
    if (v === undefined) continue;
    const pp = parsePrefix(p, at(path, f), v, 'reject');
    if (!pp) continue;
    if (fam && pp.family !== fam) p.add(at(path, f), `${show(v)} is IPv${pp.family}, but the rule is IPv${fam}`);
    else fam = pp.family;
  }
  const table = own(s, 'table');
  const gotoTarget = own(s, 'goto');
  const l3mdev = own(s, 'l3mdev') === true;
  const action = (own(s, 'action') as RuleAction | undefined) ?? (gotoTarget !== undefined ? 'goto' : forDelete ? undefined : 'lookup');
  if (table !== undefined) checkTable(p, at(path, 'table'), table);
  if (table !== undefined && gotoTarget !== undefined) p.add(at(path, 'goto'), 'a rule either looks up a table or jumps to another rule: give table or goto, not both');
  else if (table !== undefined && action !== undefined && action !== 'lookup') p.add(at(path, 'table'), `a ${action} rule looks up no table`);
  else if (gotoTarget !== undefined && action !== 'goto') p.add(at(path, 'goto'), `a ${String(action)} rule jumps nowhere (action goto)`);
  if (action === 'goto' && gotoTarget === undefined && !forDelete) p.add(at(path, 'goto'), 'a goto rule needs goto (the priority to jump to)');
  const priority = own(s, 'priority');
  if (typeof gotoTarget === 'number' && typeof priority === 'number' && gotoTarget <= priority) {
    p.add(at(path, 'goto'), `${gotoTarget} is not after priority ${priority} (the kernel refuses backward gotos)`);
  }
  if (l3mdev) {
    if (table !== undefined) p.add(at(path, 'l3mdev'), 'l3mdev and table are exclusive (the table is the L3 master device\'s)');
    if (action !== undefined && action !== 'lookup') p.add(at(path, 'l3mdev'), `a ${action} rule looks up no table`);
  }
  const tos = own(s, 'tos');
  const dscp = own(s, 'dscp');
  if (tos !== undefined && dscp !== undefined) p.add(at(path, 'dscp'), 'tos and dscp are the same byte: give one');
  const tosByte = typeof tos === 'number' ? tos : typeof dscp === 'number' ? dscp * 4 : 0;
  if (Number.isInteger(tosByte) && tosByte !== 0) {
    const field = tos !== undefined ? 'tos' : 'dscp';
    if (fam !== 6 && (tosByte & ~0x1e) !== 0) p.add(at(path, field), `${show(tos ?? dscp)} is outside the IPv4 TOS bits 0x1e (the kernel refuses it)`);
    if (fam === 6 && (tosByte & 3) !== 0) p.add(at(path, field), `${show(tos)} has ECN bits set (the kernel refuses them)`);
  }
  if (own(s, 'fwmask') !== undefined && own(s, 'fwmark') === undefined) p.add(at(path, 'fwmask'), 'fwmask needs fwmark');
  for (const f of ['sport', 'dport'] as const) {
    const v = own(s, f);
    if (v !== undefined) checkRange(p, at(path, f), v, 1, 0xfffe, 'port');
  }
  const uid = own(s, 'uidRange');
  if (uid !== undefined) {
    if (typeof uid === 'number') p.add(at(path, 'uidRange'), `expected { start, end }, got ${show(uid)}`);
    else checkRange(p, at(path, 'uidRange'), uid, 0, 0xffffffff, 'uid');
  }
  return p.list.length === before;
}

/** The family of a checked spec: from its prefixes, else its family field, else IPv4. */
function specFamily(s: RuleSpec): 4 | 6 {
  const f = familyOf(s.family);
  if (f !== undefined) return f;
  if ((s.from ?? s.to ?? '').includes(':')) return 6;
  return 4;
}

const asRange = (v: number | RuleRange | undefined): RuleRange | undefined => (v === undefined ? undefined : typeof v === 'number' ? { start: v, end: v } : { start: v.start, end: v.end });

function splitPrefix(s: string | undefined): [string | undefined, number] {
  if (s === undefined) return [undefined, 0];
  const slash = s.indexOf('/');
  if (slash < 0) return [s, s.includes(':') ? 128 : 32];
  return [s.slice(0, slash), Number(s.slice(slash + 1))];
}

/**
 * Writes one RTM_NEWRULE / RTM_DELRULE request for a checked spec. Adds default to action
 * lookup in table main (as `ip rule add`); a delete sends only what the spec names (action 0
 * matches any, as `ip rule del`). Tables above 255 go in FRA_TABLE with 0 in the header.
 */
export function encodeRule(w: MessageWriter, type: number, flags: number, s: RuleSpec): void {
  const del = type === RTM_DELRULE;
  const family = specFamily(s) === 6 ? AF_INET6 : AF_INET;
  const actionName = s.action ?? (s.goto !== undefined ? 'goto' : del ? undefined : 'lookup');
  const action = actionName === undefined ? 0 : RULE_ACTIONS[actionName];
  let table = s.table === undefined ? 0 : typeof s.table === 'number' ? s.table : TABLES[s.table];
  if (table === 0 && !del && action === FR_ACT_TO_TBL && s.l3mdev !== true) table = RT_TABLE_MAIN;
  const [from, srcLen] = splitPrefix(s.from);
  const [to, dstLen] = splitPrefix(s.to);
  w.begin(type, flags);
  FIB_RULE_HDR.write(w, {
    family,
    dstLen: to !== undefined ? dstLen : 0,
    srcLen: from !== undefined ? srcLen : 0,
    tos: s.tos ?? (s.dscp !== undefined ? s.dscp * 4 : 0),
    table: table > 255 ? 0 : table,
    action,
    flags: s.not ? FIB_RULE_INVERT : 0,
  });
  FRA_ATTRS.encode(w, {
    // A /0 prefix matches everything: iproute2 sends no address for it.
    from: srcLen > 0 ? from : undefined,
    to: dstLen > 0 ? to : undefined,
    iif: s.iif,
    oif: s.oif,
    fwmark: s.fwmark,
    fwmask: s.fwmask,
    ipProto: s.ipProto === undefined ? undefined : lookup(IP_PROTOS, s.ipProto),
    sport: asRange(s.sport),
    dport: asRange(s.dport),
    uidRange: s.uidRange === undefined ? undefined : { start: s.uidRange.start, end: s.uidRange.end },
    l3mdev: s.l3mdev ? 1 : undefined,
    table: table > 255 ? table : undefined,
    priority: s.priority,
    goto: s.goto,
    protocol: s.protocol === undefined ? undefined : lookup(PROTOCOLS, s.protocol),
    suppressPrefixLength: s.suppressPrefixLength,
    suppressIfgroup: s.suppressIfgroup,
  });
  w.end();
}

/** Writes an RTM_GETRULE dump request: AF_INET, AF_INET6 or AF_UNSPEC (both). */
export function encodeRuleDump(w: MessageWriter, family: number): void {
  w.begin(RTM_GETRULE, NLM_F_REQUEST | NLM_F_DUMP);
  FIB_RULE_HDR.write(w, { family });
  w.end();
}

interface FraValues {
  from: string | undefined;
  to: string | undefined;
  iif: string | undefined;
  oif: string | undefined;
  fwmark: number | undefined;
  fwmask: number | undefined;
  ipProto: number | undefined;
  sport: RuleRange | undefined;
  dport: RuleRange | undefined;
  uidRange: RuleRange | undefined;
  l3mdev: number | undefined;
  table: number | undefined;
  priority: number | undefined;
  goto: number | undefined;
  protocol: number | undefined;
  suppressPrefixLength: number | undefined;
  suppressIfgroup: number | undefined;
}

/**
 * Decodes one RTM_NEWRULE / RTM_DELRULE message (list() and the monitor). Attributes FRA_ATTRS
 * does not name are kept in `unknown`. A suppress value of -1 (0xffffffff, "not set") is left
 * out. Throws NetlinkParseError for a malformed message or a family other than IPv4/IPv6.
 */
export function parseRuleMessage(m: MessageView): Rule {
  const h = FIB_RULE_HDR.read(m.buf, m.payload, m.end, 'rule message');
  if (h.family !== AF_INET && h.family !== AF_INET6) throw new NetlinkParseError(`rule of address family ${h.family}`, m.payload);
  const family = h.family === AF_INET ? 4 : 6;
  const v: FraValues = {
    from: undefined,
    to: undefined,
    iif: undefined,
    oif: undefined,
    fwmark: undefined,
    fwmask: undefined,
    ipProto: undefined,
    sport: undefined,
    dport: undefined,
    uidRange: undefined,
    l3mdev: undefined,
    table: undefined,
    priority: undefined,
    goto: undefined,
    protocol: undefined,
    suppressPrefixLength: undefined,
    suppressIfgroup: undefined,
  };
  const unknown = FRA_ATTRS.decodeInto(m.buf, m.payload + FIB_RULE_HDR_LEN, m.end, v);
  const max = family === 4 ? 32 : 128;
  if (h.srcLen > max || h.dstLen > max) throw new NetlinkParseError(`rule prefix length ${Math.max(h.srcLen, h.dstLen)} too long for IPv${family}`, m.payload);
  for (const a of [v.from, v.to]) if (a !== undefined && a.includes(':') !== (family === 6)) throw new NetlinkParseError(`rule address ${a} in an IPv${family} rule`, m.payload);
  const r: Rule = {
    family,
    priority: v.priority ?? 0,
    action: ACTION_NAMES.get(h.action) ?? h.action,
    table: v.table ?? h.table,
  } as Rule;
  if (v.goto !== undefined) r.goto = v.goto;
  if (v.from !== undefined) r.from = `${v.from}/${h.srcLen}`;
  if (v.to !== undefined) r.to = `${v.to}/${h.dstLen}`;
  r.not = (h.flags & FIB_RULE_INVERT) !== 0;
  if (v.iif !== undefined) r.iif = v.iif;
  if (v.oif !== undefined) r.oif = v.oif;
  if (v.fwmark !== undefined) r.fwmark = v.fwmark;
  if (v.fwmask !== undefined) r.fwmask = v.fwmask;
  r.tos = h.tos;
  if (v.ipProto !== undefined) r.ipProto = v.ipProto;
  if (v.sport !== undefined) r.sport = v.sport;
  if (v.dport !== undefined) r.dport = v.dport;
  if (v.uidRange !== undefined) r.uidRange = v.uidRange;
  r.l3mdev = v.l3mdev !== undefined && v.l3mdev !== 0;
  if (v.suppressPrefixLength !== undefined && v.suppressPrefixLength !== 0xffffffff) r.suppressPrefixLength = v.suppressPrefixLength;
  if (v.suppressIfgroup !== undefined && v.suppressIfgroup !== 0xffffffff) r.suppressIfgroup = v.suppressIfgroup;
  r.protocol = v.protocol ?? 0;
  r.flags = h.flags;
  if (unknown !== undefined) r.unknown = unknown;
  return r;
}

/** Whether a value given to del() is a Rule read back (it has flags) rather than a spec. */
function isRule(x: RuleSpec | Rule): x is Rule {
  return typeof own(x, 'flags') === 'number';
}

/** A rule read back as the spec that deletes exactly it (every selector and the action). */
export function ruleSpecOf(r: Rule): RuleSpec {
  const s: RuleSpec = { family: r.family, priority: r.priority };
  if (typeof r.action === 'string') s.action = r.action;
  if (r.action === 'lookup' && r.table !== 0) s.table = r.table;
  if (r.goto !== undefined) s.goto = r.goto;
  if (r.from !== undefined) s.from = r.from;
  if (r.to !== undefined) s.to = r.to;
  if (r.not) s.not = true;
  if (r.iif !== undefined) s.iif = r.iif;
  if (r.oif !== undefined) s.oif = r.oif;
  if (r.fwmark !== undefined) s.fwmark = r.fwmark;
  if (r.fwmask !== undefined && r.fwmark !== undefined) s.fwmask = r.fwmask;
  if (r.tos) s.tos = r.tos;
  if (r.ipProto !== undefined) s.ipProto = r.ipProto;
  if (r.sport !== undefined) s.sport = r.sport;
  if (r.dport !== undefined) s.dport = r.dport;
  if (r.uidRange !== undefined) s.uidRange = r.uidRange;
  if (r.l3mdev) s.l3mdev = true;
  if (r.suppressPrefixLength !== undefined) s.suppressPrefixLength = r.suppressPrefixLength;
  if (r.suppressIfgroup !== undefined) s.suppressIfgroup = r.suppressIfgroup;
  s.protocol = r.protocol;
  return s;
}

const rangeText = (v: number | RuleRange | undefined): string => {
  const r = asRange(v);
  return r === undefined ? '' : `${r.start}-${r.end}`;
};
/** A prefix as the kernel stores it: "" for none or /0 (which matches everything), else canonical. */
function prefixKey(v: string | undefined): string {
  if (v === undefined) return '';
  const pp = parsePrefix(new Problems(), '', v, 'keep');
  if (!pp || pp.prefixLength === 0) return '';
  return pp.prefix;
}

/**
 * The identity of a rule, the key a reconciler diffs rules on: one string, equal for a spec and
 * the rule the kernel made from it (and for rules.list()'s Rule), different for any two rules
 * the kernel would keep apart. It is the tuple
 *
 *   family, priority, not, from, to, iif, oif, fwmark, fwmask, tos, ipProto, sport, dport,
 *   uidRange, l3mdev, action, table (lookup only), goto, suppressPrefixLength, suppressIfgroup
 *
 * with the kernel's defaults filled in (action lookup, table main, fwmask 0xffffffff with a
 * fwmark, a /0 prefix as none, a single port as a range, names as numbers). The owner
 * (protocol) is deliberately not part of it: ownership decides who may change a rule, not
 * which rule it is. A spec without priority gets the kernel's choice, which no key can know:
 * give priority in anything a reconciler manages. Expects a valid spec or a Rule.
 */
export function ruleKey(r: RuleSpec | Rule): string {
  const read = isRule(r);
  const family = read ? r.family : specFamily(r);
  const actionName = read ? r.action : (r.action ?? (r.goto !== undefined ? 'goto' : 'lookup'));
  let table = 0;
  if (actionName === 'lookup') {
    if (read) table = r.table;
    else if (r.table !== undefined) table = typeof r.table === 'number' ? r.table : TABLES[r.table];
    else if (r.l3mdev !== true) table = RT_TABLE_MAIN;
  }
  const fwmark = r.fwmark ?? 0;
  const fwmask = r.fwmask ?? (fwmark !== 0 ? 0xffffffff : 0);
  const tos = read ? r.tos : (r.tos ?? (r.dscp !== undefined ? r.dscp * 4 : 0));
  const ipProto = r.ipProto === undefined ? 0 : (lookup(IP_PROTOS, r.ipProto) ?? 0);
  const uid = r.uidRange === undefined ? '' : `${r.uidRange.start}-${r.uidRange.end}`;
  const parts = [
    family,
    r.priority ?? '',
    r.not ? 'not' : '',
    prefixKey(r.from),
    prefixKey(r.to),
    r.iif ?? '',
    r.oif ?? '',
    fwmark,
    fwmask,
    tos,
    ipProto,
    rangeText(r.sport),
    rangeText(r.dport),
    uid,
    r.l3mdev ? 'l3mdev' : '',
    actionName,
    table,
    r.goto ?? '',
    r.suppressPrefixLength ?? '',
    r.suppressIfgroup ?? '',
  ];
  return parts.join('|');
}

/** "4 pref 1000 from 10.1.0.0/16 lookup 100" for messages. */
export function describeRule(r: unknown): string {
  if (!isObject(r)) return show(r);
  const o = r as Partial<RuleSpec>;
  let t = `pref ${o.priority === undefined ? '(kernel picks)' : String(o.priority)}`;
  if (o.not) t += ' not';
  if (o.from !== undefined) t += ` from ${String(o.from)}`;
  if (o.to !== undefined) t += ` to ${String(o.to)}`;
  if (o.iif !== undefined) t += ` iif ${String(o.iif)}`;
  if (o.oif !== undefined) t += ` oif ${String(o.oif)}`;
  if (o.fwmark !== undefined) t += ` fwmark ${String(o.fwmark)}`;
  if (o.goto !== undefined) t += ` goto ${String(o.goto)}`;
  else if (o.table !== undefined) t += ` lookup ${String(o.table)}`;
  else if (o.action !== undefined) t += ` ${String(o.action)}`;
  return t;
}

/**
 * The policy routing rules of one namespace. Every method validates first and rejects with
 * ValidationError (nothing sent) for bad input; the kernel's refusals reject with NetlinkError
 * (EEXIST for an identical rule, ENOENT when a delete matches none, ...).
 *
 * @example
 * ```ts
 * await nl.rules.add({ priority: 100, fwmark: 0xca6c, table: 51820, not: true, protocol: 77 });
 * const mine = await nl.rules.list({ protocol: 77 });
 * ```
 */
export class Rules {
  constructor(protected readonly ctx: RtnlContext) {}

  /** Adds a rule (NLM_F_CREATE|NLM_F_EXCL): EEXIST when an identical rule exists. */
  async add(s: RuleSpec): Promise<void> {
    this.check('rules.add', s, false);
    await this.ctx.socket.request((w) => encodeRule(w, RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL, s), { what: `rules.add ${describeRule(s)}` });
  }

  /**
   * Deletes the first rule matching what the spec names (a bare { priority } deletes the first
   * rule with that priority, as `ip rule del pref N`); a Rule from list() is deleted with all
   * its selectors and its action. ENOENT when none matches.
   */
  async del(x: RuleSpec | Rule): Promise<void> {
    const s = isObject(x) && isRule(x as RuleSpec | Rule) ? ruleSpecOf(x as unknown as Rule) : (x as RuleSpec);
    this.check('rules.del', s, true);
    await this.ctx.socket.request((w) => encodeRule(w, RTM_DELRULE, 0, s), { what: `rules.del ${describeRule(s)}` });
  }

  /** add() for many rules in one pipelined batch: every spec is checked first (one
   * ValidationError, nothing sent); result.errors[i] is the error of specs[i]. */
  addMany(specs: readonly RuleSpec[]): Promise<BatchResult> {
    return this.many('rules.addMany', RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL, specs, false);
  }

  /** del() for many rules (specs or Rules) in one pipelined batch; the contract of addMany(). */
  delMany(items: ReadonlyArray<RuleSpec | Rule>): Promise<BatchResult> {
    const specs = Array.isArray(items) ? items.map((x) => (isObject(x) && isRule(x) ? ruleSpecOf(x) : x)) : (items as unknown as RuleSpec[]);
    return this.many('rules.delMany', RTM_DELRULE, 0, specs, true);
  }

  /**
   * The rules matching the filter (default: both families, every rule), in the kernel's order
   * (ascending priority). The family is filtered by the kernel; table, protocol and priority
   * here, because the kernel takes no other filter in a rule dump.
   */
  async list(filter: RuleFilter = {}): Promise<Rule[]> {
    const p = new Problems();
    RULE_FILTER_FIELDS.check(p, 'filter', filter, 'a filter');
    const f = filter as Record<string, unknown>;
    const tableIn = own(f, 'table');
    if (tableIn !== undefined) checkTable(p, 'filter.table', tableIn);
    p.throwIfAny('rules.list');
    const fam = familyOf(own(f, 'family'));
    const table = tableIn === undefined ? -1 : typeof tableIn === 'number' ? tableIn : TABLES[tableIn as keyof typeof TABLES];
    const protoIn = own(f, 'protocol') as RuleFilter['protocol'];
    const protocol = protoIn === undefined ? -1 : lookup(PROTOCOLS, protoIn)!;
    const priority = own(f, 'priority') as number | undefined;
    return this.ctx.socket.dump(
      (w) => encodeRuleDump(w, fam === 4 ? AF_INET : fam === 6 ? AF_INET6 : AF_UNSPEC),
      (m) => {
        if (m.type !== RTM_NEWRULE) return undefined;
        const fam0 = m.end > m.payload ? m.buf[m.payload] : -1;
        if (fam0 !== AF_INET && fam0 !== AF_INET6) return undefined; // other families' rules (ipmr, ...)
        const r = parseRuleMessage(m);
        if (table >= 0 && (r.action !== 'lookup' || r.table !== table)) return undefined;
        if (protocol >= 0 && r.protocol !== protocol) return undefined;
        if (priority !== undefined && r.priority !== priority) return undefined;
        return r;
      },
      { what: 'rules.list' },
    );
  }

  private check(what: string, s: unknown, forDelete: boolean): void {
    const p = new Problems();
    validateRuleSpec(p, '', s, forDelete);
    p.throwIfAny(`${what} ${describeRule(s)}`);
  }

  private async many(what: string, type: number, flags: number, specs: readonly RuleSpec[], forDelete: boolean): Promise<BatchResult> {
    if (!Array.isArray(specs)) throw new ValidationError([{ path: '', message: `expected an array of rule specs, got ${show(specs)}` }], what);
    const p = new Problems();
    specs.forEach((s, i) => validateRuleSpec(p, `[${i}]`, s, forDelete));
    p.throwIfAny(what);
    return this.ctx.socket.batch(specs.length, (i, w) => encodeRule(w, type, flags, specs[i]), { what, describe: (i) => describeRule(specs[i]) });
  }
}
