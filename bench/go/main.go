// nla-go-bench: the bench's Go peer, vishvananda/netlink used the way its users use it (one
// call per object, each waiting for its answer). Built and run by bench/run.js, which owns the
// namespaces; it prints one JSON line like the C floor:
//
//	{"seconds": <timed section>, "user": <CPU s>, "sys": <CPU s>, "count": N}
//
// Usage: nla-go-bench OP NETNS N, OP one of route-add route-del route-dump reconcile-noop
// fdb-append neigh-add. The objects are the bench's own (bench/run.js): route i is
// 20+(i>>16).(i>>8&255).(i&255).0/24 via 10.57.0.2 dev veth0 onlink proto 77; FDB i and
// neighbour i are the floor's (k = i+2: 00:00:00:00:00:00 dst 10.57.k>>8.k&255 on vxlan0;
// k = i+1: 10.200.k>>8.k&255 lladdr 02:42:0a:c8:KH:KL on vxlan0).
package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

const proto = 77

func die(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "nla-go-bench: "+format+"\n", a...)
	os.Exit(1)
}

func route(i, oif int) *netlink.Route {
	dst := &net.IPNet{IP: net.IPv4(byte(20+(i>>16)), byte(i>>8), byte(i), 0).To4(), Mask: net.CIDRMask(24, 32)}
	return &netlink.Route{Dst: dst, Gw: net.IPv4(10, 57, 0, 2).To4(), LinkIndex: oif, Flags: int(netlink.FLAG_ONLINK), Protocol: proto, Table: syscall.RT_TABLE_MAIN}
}

func cpu() (float64, float64) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		die("getrusage: %v", err)
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime), tv(ru.Stime)
}

func main() {
	if len(os.Args) != 4 {
		die("usage: nla-go-bench OP NETNS N")
	}
	op, ns := os.Args[1], os.Args[2]
	n, err := strconv.Atoi(os.Args[3])
	if err != nil || n < 1 || n > 1<<20 {
		die("bad N %q", os.Args[3])
	}
	runtime.LockOSThread()
	nsh, err := netns.GetFromPath("/run/netns/" + ns)
	if err != nil {
		die("netns %s: %v", ns, err)
	}
	h, err := netlink.NewHandleAt(nsh)
	if err != nil {
		die("handle in %s: %v", ns, err)
	}
	veth, err := h.LinkByName("veth0")
	if err != nil {
		die("veth0: %v", err)
	}
	oif := veth.Attrs().Index
	vxlan := 0
	if op == "fdb-append" || op == "neigh-add" {
		l, err := h.LinkByName("vxlan0")
		if err != nil {
			die("vxlan0: %v", err)
		}
		vxlan = l.Attrs().Index
	}

	// Everything the timed section needs is built before the clock starts, as the floor does.
	var work func() int
	switch op {
	case "route-add", "route-del":
		routes := make([]*netlink.Route, n)
		for i := range routes {
			routes[i] = route(i, oif)
		}
		work = func() int {
			for _, r := range routes {
				var err error
				if op == "route-add" {
					err = h.RouteAdd(r)
				} else {
					err = h.RouteDel(r)
				}
				if err != nil {
					die("%s %s: %v", op, r.Dst, err)
				}
			}
			return n
		}
	case "route-dump":
		work = func() int {
			rs, err := h.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: syscall.RT_TABLE_MAIN, Protocol: proto}, netlink.RT_FILTER_TABLE|netlink.RT_FILTER_PROTOCOL)
			if err != nil {
				die("dump: %v", err)
			}
			return len(rs)
		}
	case "reconcile-noop":
		// The desired set, keyed by destination: gateway, device and onlink compared per route.
		want := make(map[string]*netlink.Route, n)
		for i := 0; i < n; i++ {
			r := route(i, oif)
			want[r.Dst.String()] = r
		}
		work = func() int {
			rs, err := h.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: syscall.RT_TABLE_MAIN, Protocol: proto}, netlink.RT_FILTER_TABLE|netlink.RT_FILTER_PROTOCOL)
			if err != nil {
				die("dump: %v", err)
			}
			seen, changes := 0, 0
			for i := range rs {
				r := &rs[i]
				if r.Dst == nil {
					continue
				}
				w, ok := want[r.Dst.String()]
				if !ok {
					changes++ // an owned route not desired: a delete
					continue
				}
				seen++
				if !r.Gw.Equal(w.Gw) || r.LinkIndex != w.LinkIndex || r.Flags&int(netlink.FLAG_ONLINK) == 0 {
					changes++
				}
			}
			if changes != 0 || seen != n {
				die("reconcile-noop: %d changes, %d of %d desired present", changes, seen, n)
			}
			return seen
		}
	case "fdb-append":
		zero := net.HardwareAddr{0, 0, 0, 0, 0, 0}
		entries := make([]*netlink.Neigh, n)
		for i := range entries {
			k := i + 2
			entries[i] = &netlink.Neigh{LinkIndex: vxlan, Family: syscall.AF_BRIDGE, State: netlink.NUD_PERMANENT, Flags: netlink.NTF_SELF, HardwareAddr: zero, IP: net.IPv4(10, 57, byte(k>>8), byte(k)).To4()}
		}
		work = func() int {
			for _, e := range entries {
				if err := h.NeighAppend(e); err != nil {
					die("fdb append %s: %v", e.IP, err)
				}
			}
			return n
		}
	case "neigh-add":
		entries := make([]*netlink.Neigh, n)
		for i := range entries {
			k := i + 1
			entries[i] = &netlink.Neigh{LinkIndex: vxlan, Family: netlink.FAMILY_V4, State: netlink.NUD_PERMANENT, IP: net.IPv4(10, 200, byte(k>>8), byte(k)).To4(), HardwareAddr: net.HardwareAddr{0x02, 0x42, 0x0a, 0xc8, byte(k >> 8), byte(k)}}
		}
		work = func() int {
			for _, e := range entries {
				if err := h.NeighSet(e); err != nil {
					die("neigh replace %s: %v", e.IP, err)
				}
			}
			return n
		}
	default:
		die("unknown op %q", op)
	}

	u0, s0 := cpu()
	t0 := time.Now()
	count := work()
	wall := time.Since(t0).Seconds()
	u1, s1 := cpu()
	out, _ := json.Marshal(map[string]interface{}{"seconds": wall, "user": u1 - u0, "sys": s1 - s0, "count": count})
	fmt.Println(string(out))
}
