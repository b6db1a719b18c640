/**
 * An in-memory Linux kernel for tests without root: MemoryKernel. Give it to Rtnl.open() (or
 * NetlinkSocket.open()) as `kernel`, and everything above the socket runs on it unchanged.
 * The contract tests (test/rtnl/contract/) run the same cases against it and against the real
 * kernel.
 *
 * @module
 */
export { MemoryKernel, MemoryNamespace, INITIAL_NAMESPACE, type MemoryKernelOptions, type FailOptions } from './kernel';
