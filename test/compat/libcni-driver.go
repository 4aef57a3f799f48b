// test/compat/libcni-driver.go: runs a conflist through the real libcni (Debian's
// golang-github-appc-cni-dev), so the tests can compare what plugins receive from libcni and
// from Plexus's delegates/. Built offline in GOPATH mode; a test tool, not shipped.
//
// usage: libcni-driver add|del|check CONFLIST NETNS
// env: CNI_PATH, CNI_IFNAME, CNI_CONTAINERID, CNI_ARGS ("K=V;K=V"), CAP_ARGS (JSON), CACHE_DIR
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/containernetworking/cni/libcni"
)

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: libcni-driver add|del|check CONFLIST NETNS")
		os.Exit(2)
	}
	list, err := libcni.ConfListFromFile(os.Args[2])
	if err != nil {
		fail(err)
	}
	rt := &libcni.RuntimeConf{
		ContainerID: os.Getenv("CNI_CONTAINERID"),
		NetNS:       os.Args[3],
		IfName:      os.Getenv("CNI_IFNAME"),
	}
	if a := os.Getenv("CNI_ARGS"); a != "" {
		for _, kv := range strings.Split(a, ";") {
			p := strings.SplitN(kv, "=", 2)
			rt.Args = append(rt.Args, [2]string{p[0], p[1]})
		}
	}
	if c := os.Getenv("CAP_ARGS"); c != "" {
		if err := json.Unmarshal([]byte(c), &rt.CapabilityArgs); err != nil {
			fail(err)
		}
	}
	cni := libcni.NewCNIConfigWithCacheDir(filepath.SplitList(os.Getenv("CNI_PATH")), os.Getenv("CACHE_DIR"), nil)
	ctx := context.Background()
	switch os.Args[1] {
	case "add":
		res, err := cni.AddNetworkList(ctx, list, rt)
		if err != nil {
			fail(err)
		}
		res.Print()
	case "del":
		err = cni.DelNetworkList(ctx, list, rt)
	case "check":
		err = cni.CheckNetworkList(ctx, list, rt)
	default:
		err = fmt.Errorf("unknown command %s", os.Args[1])
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
