// test/compat/golden-results.go: writes the golden CNI results of test/unit/test_cni_result.c
// (test/unit/golden/result) with libcni's own converters: Debian's libcni v1.1.2
// (golang-github-appc-cni-dev) plus test/compat/libcni-v1.2-types.patch (the route and interface
// fields libcni v1.2.0 added). Built offline in GOPATH mode by `make golden`; a test tool.
//
// usage: golden-results GOLDEN-DIR OUT-DIR
//
// For every <case>.in.json in GOLDEN-DIR it writes OUT-DIR/<case>-to-<v>.want.json for each
// <v> that GOLDEN-DIR has a want file for (every version for the matrix-from-* cases): the
// result through create.Create and GetAsVersion(<v>), printed by json.MarshalIndent. A
// conversion libcni refuses writes nothing (the unit test checks its error).
//
// Versions up to 1.0.0 are libcni's alone. libcni v1.1.2 does not know 1.1.0; libcni v1.2.0's
// pkg/types/100 treats 1.1.0 as the same types as 1.0.0 (convertFrom100/convertTo100 copy the
// result and set cniVersion), so a 1.1.0 file is derived by that rule: a 1.1.0 input is read as
// 1.0.0, a 1.1.0 output is the 1.0.0 output with cniVersion "1.1.0". It prints the names it
// derived so ("derived <file>") on stdout.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	types100 "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/cni/pkg/types/create"
)

var versions = []string{"0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: golden-results GOLDEN-DIR OUT-DIR")
		os.Exit(2)
	}
	dir, out := os.Args[1], os.Args[2]
	ins, err := filepath.Glob(filepath.Join(dir, "*.in.json"))
	if err != nil || len(ins) == 0 {
		fail(fmt.Errorf("no *.in.json in %s", dir))
	}
	sort.Strings(ins)
	for _, in := range ins {
		name := strings.TrimSuffix(filepath.Base(in), ".in.json")
		for _, v := range targets(dir, name) {
			file := fmt.Sprintf("%s-to-%s.want.json", name, v)
			text, derived, err := convert(in, v)
			if err != nil {
				fmt.Printf("refused %s: %v\n", file, err)
				continue
			}
			if err := os.WriteFile(filepath.Join(out, file), text, 0o644); err != nil {
				fail(err)
			}
			if derived {
				fmt.Printf("derived %s\n", file)
			}
		}
	}
}

// targets: every version for a matrix case, else the versions GOLDEN-DIR has a want file for.
func targets(dir, name string) []string {
	if strings.HasPrefix(name, "matrix-from-") {
		return versions
	}
	var vs []string
	re := regexp.MustCompile("^" + regexp.QuoteMeta(name) + `-to-([0-9.]+)\.want\.json$`)
	entries, err := os.ReadDir(dir)
	if err != nil {
		fail(err)
	}
	for _, e := range entries {
		if m := re.FindStringSubmatch(e.Name()); m != nil {
			vs = append(vs, m[1])
		}
	}
	return vs
}

// convert returns the result in path as version v, and whether the 1.1.0 rule was used.
func convert(path, v string) ([]byte, bool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, false, err
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, false, err
	}
	derived := false
	if string(doc["cniVersion"]) == `"1.1.0"` {
		doc["cniVersion"] = json.RawMessage(`"1.0.0"`)
		if data, err = json.Marshal(doc); err != nil {
			return nil, false, err
		}
		derived = true
	}
	res, err := create.CreateFromBytes(data)
	if err != nil {
		return nil, derived, err
	}
	as := v
	if v == "1.1.0" {
		as, derived = "1.0.0", true
	}
	conv, err := res.GetAsVersion(as)
	if err != nil {
		return nil, derived, err
	}
	if v == "1.1.0" {
		conv.(*types100.Result).CNIVersion = "1.1.0"
	}
	text, err := json.MarshalIndent(conv, "", "    ")
	if err != nil {
		return nil, derived, err
	}
	return append(text, '\n'), derived, nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "golden-results:", err)
	os.Exit(1)
}
