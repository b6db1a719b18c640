/**
 * errno numbers as names and sentences, as the kernel headers and strerror(3) have them: the
 * addon's calls and the kernel's netlink replies both fail with errnos.
 */
import { getSystemErrorMap } from 'node:util';

const systemErrors = getSystemErrorMap();

// Where libuv names an errno by its alias, use the name the kernel headers use for it.
const kernelNames: Record<string, string> = { ENOTSUP: 'EOPNOTSUPP', EWOULDBLOCK: 'EAGAIN' };

/** The errno name ('EEXIST') for a positive errno value, as in the kernel's errno headers. */
export function errnoName(errno: number): string {
  const entry = systemErrors.get(-Math.abs(errno));
  if (!entry) return `E${Math.abs(errno)}`;
  return kernelNames[entry[0]] ?? entry[0];
}

/** A person-readable description of a positive errno value ('File exists'). */
export function errnoMessage(errno: number): string {
  const entry = systemErrors.get(-Math.abs(errno));
  return entry ? entry[1] : `error ${Math.abs(errno)}`;
}
