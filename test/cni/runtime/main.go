// cnirt: a small container runtime for the tests, built on libcni exactly as containerd uses it
// (AddNetworkList / CheckNetworkList / DelNetworkList with a conflist, a cache directory, CNI_PATH).
//
// It reads one JSON job on stdin and writes one JSON report on stdout:
//
//	job:    {"conflist": {...}, "cniPath": ["/dir", ...], "cacheDir": "/tmp/x", "concurrency": 1,
//	         "ops": [{"cmd": "ADD"|"CHECK"|"DEL"|"VERSION"|"VALIDATE", "id": "c1",
//	                  "netns": "/run/netns/pod1", "ifname": "eth0", "args": [["K", "V"]],
//	                  "capabilityArgs": {...}, "plugin": "type for VERSION"}]}
//	report: {"results": [{"ok": true, "result": {...}, "error": {"code": 7, "msg": "...",
//	         "details": "..."}, "ms": 12.3}], "wallMs": 123.4}
//
// Ops run in order with at most `concurrency` at a time; each result is in its op's position.
// The test runs it inside a namespace it made (ip netns exec HOST cnirt), never in the machine's own.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"
)

type op struct {
	Cmd            string                 `json:"cmd"`
	ID             string                 `json:"id"`
	Netns          string                 `json:"netns"`
	IfName         string                 `json:"ifname"`
	Args           [][2]string            `json:"args"`
	CapabilityArgs map[string]interface{} `json:"capabilityArgs"`
	Plugin         string                 `json:"plugin"`
}

type job struct {
	Conflist    json.RawMessage `json:"conflist"`
	CniPath     []string        `json:"cniPath"`
	CacheDir    string          `json:"cacheDir"`
	Concurrency int             `json:"concurrency"`
	Ops         []op            `json:"ops"`
}

type cniError struct {
	Code    uint   `json:"code"`
	Msg     string `json:"msg"`
	Details string `json:"details,omitempty"`
}

type result struct {
	OK     bool            `json:"ok"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  *cniError       `json:"error,omitempty"`
	Ms     float64         `json:"ms"`
}

func fail(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "cnirt: "+format+"\n", a...)
	os.Exit(2)
}

func asCniError(err error) *cniError {
	var te *types.Error
	if errors.As(err, &te) {
		return &cniError{Code: te.Code, Msg: te.Msg, Details: te.Details}
	}
	// Not a plugin's error JSON: libcni's own (plugin not found, bad output, exit without JSON).
	return &cniError{Code: 0, Msg: err.Error()}
}

func run(ctx context.Context, cni *libcni.CNIConfig, list *libcni.NetworkConfigList, o op) result {
	rt := &libcni.RuntimeConf{ContainerID: o.ID, NetNS: o.Netns, IfName: o.IfName, Args: o.Args, CapabilityArgs: o.CapabilityArgs}
	start := time.Now()
	var out interface{}
	var err error
	switch o.Cmd {
	case "ADD":
		var r types.Result
		r, err = cni.AddNetworkList(ctx, list, rt)
		if err == nil {
			out = r
		}
	case "CHECK":
		err = cni.CheckNetworkList(ctx, list, rt)
	case "DEL":
		err = cni.DelNetworkList(ctx, list, rt)
	case "VERSION":
		out, err = cni.GetVersionInfo(ctx, o.Plugin)
	case "VALIDATE":
		out, err = cni.ValidateNetworkList(ctx, list)
	default:
		fail("unknown cmd %q", o.Cmd)
	}
	ms := float64(time.Since(start).Microseconds()) / 1000
	if err != nil {
		return result{OK: false, Error: asCniError(err), Ms: ms}
	}
	res := result{OK: true, Ms: ms}
	if out != nil {
		b, e := json.Marshal(out)
		if e != nil {
			fail("cannot encode a result: %v", e)
		}
		res.Result = b
	}
	return res
}

func main() {
	var j job
	if err := json.NewDecoder(os.Stdin).Decode(&j); err != nil {
		fail("bad job on stdin: %v", err)
	}
	list, err := libcni.ConfListFromBytes(j.Conflist)
	if err != nil {
		fail("bad conflist: %v", err)
	}
	cni := libcni.NewCNIConfigWithCacheDir(j.CniPath, j.CacheDir, nil)
	if j.Concurrency < 1 {
		j.Concurrency = 1
	}
	results := make([]result, len(j.Ops))
	slots := make(chan struct{}, j.Concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range j.Ops {
		slots <- struct{}{}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i] = run(context.Background(), cni, list, j.Ops[i])
			<-slots
		}(i)
	}
	wg.Wait()
	wall := float64(time.Since(start).Microseconds()) / 1000
	if err := json.NewEncoder(os.Stdout).Encode(map[string]interface{}{"results": results, "wallMs": wall}); err != nil {
		fail("cannot write the report: %v", err)
	}
}
