/** Objects configured over generic netlink (beside src/rtnl, the same layer): WireGuard. */
export * from './wireguard';
