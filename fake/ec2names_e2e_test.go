//go:build e2e

package fake

import (
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"go/format"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/imdsopts/imdsopts/internal/motoserver"
)

var updateNames = flag.Bool("update", false, "rewrite ec2names.go from EC2's API model")

// apiModel is the part of an AWS API model (botocore's service-2.json) the
// name check reads.
type apiModel struct {
	Operations map[string]struct {
		Input, Output struct{ Shape string }
	}
	Shapes map[string]modelShape
}

type modelShape struct {
	Type    string
	Members map[string]modelMember
	Member  *modelMember // of a list
}

type modelMember struct {
	Shape        string
	LocationName string
	QueryName    string
}

// loadModel reads the API model of service version from the botocore
// installed for python3, the library the AWS CLI is built on. It skips the
// test when there is none, unless motoserver.RequireEnv is set.
func loadModel(t *testing.T, service, version string) *apiModel {
	t.Helper()
	out, err := exec.Command("python3", "-c", "import botocore,os;print(os.path.dirname(botocore.__file__))").Output()
	if err != nil {
		if os.Getenv(motoserver.RequireEnv) == "1" {
			t.Fatalf("botocore (for EC2's API model) is not installed and %s=1: %v", motoserver.RequireEnv, err)
		}
		t.Skipf("botocore (for EC2's API model) is not installed: %v", err)
	}
	path := filepath.Join(strings.TrimSpace(string(out)), "data", service, version, "service-2.json.gz")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(z)
	if err != nil {
		t.Fatal(err)
	}
	var m apiModel
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return &m
}

// modelNames walks the Go type t and the model's shape in step and records
// the names the model gives each member. Every Go field must be a member of
// the shape, with the same name.
type modelNames struct {
	model   *apiModel
	names   map[string]ec2Name // by Go type and field, for members that differ from the rules
	all     map[string]ec2Name // every member seen
	missing []string
	seen    map[seenKey]bool
}

type seenKey struct {
	t     reflect.Type
	input bool
}

func (w *modelNames) walk(t reflect.Type, shape string, input bool) {
	switch {
	case t.Kind() == reflect.Pointer:
		w.walk(t.Elem(), shape, input)
		return
	case isList(t):
		s := w.model.Shapes[shape]
		if s.Member == nil {
			w.missing = append(w.missing, fmt.Sprintf("%s is a list in Go, a %s in the model", shape, s.Type))
			return
		}
		w.walk(t.Elem(), s.Member.Shape, input)
		return
	case !isStruct(t):
		return
	}
	if w.seen[seenKey{t, input}] {
		return
	}
	w.seen[seenKey{t, input}] = true
	s := w.model.Shapes[shape]
	for _, m := range members(t) {
		mm, ok := s.Members[m.name]
		if !ok {
			w.missing = append(w.missing, fmt.Sprintf("%s.%s: no member %s in the model's shape %s", t.Name(), m.name, m.name, shape))
			continue
		}
		query := mm.QueryName
		if query == "" && mm.LocationName != "" {
			query = strings.ToUpper(mm.LocationName[:1]) + mm.LocationName[1:]
		}
		if query == "" {
			query = m.name
		}
		xmlName := mm.LocationName
		if xmlName == "" {
			xmlName = m.name
		}
		item := ""
		if ms := w.model.Shapes[mm.Shape]; !input && ms.Type == "list" && ms.Member != nil {
			item = ms.Member.LocationName
			if item == "" {
				item = "member"
			}
		}
		// A request reads only query names, an answer only element names.
		key := t.Name() + "." + m.name
		n, all := w.names[key], w.all[key]
		if input {
			all.query = query
			if query != m.name {
				n.query = query
			}
		} else {
			all.xml, all.item = xmlName, item
			if xmlName != lowerFirst(m.name) {
				n.xml = xmlName
			}
			if item != "" && item != "item" {
				n.item = item
			}
		}
		if n != (ec2Name{}) {
			w.names[key] = n
		}
		w.all[key] = all
		w.walk(m.typ, mm.Shape, input)
	}
}

// TestE2EEC2NamesMatchModel checks, for every structure the EC2 operations of
// the handler read or answer, that each Go field is a member of EC2's API
// model and that the handler's names for it are the model's. Run it with
// -update to rewrite ec2names.go after adding an operation.
func TestE2EEC2NamesMatchModel(t *testing.T) {
	t.Parallel()
	model := loadModel(t, "ec2", ec2Version)
	w := &modelNames{model: model, names: map[string]ec2Name{}, all: map[string]ec2Name{}, seen: map[seenKey]bool{}}
	for name, op := range ec2Service.ops {
		mop, ok := model.Operations[name]
		if !ok {
			t.Errorf("operation %s is not in EC2's model", name)
			continue
		}
		w.walk(op.input, mop.Input.Shape, true)
		w.walk(op.output, mop.Output.Shape, false)
	}
	// The SDK may be newer than the model: its new members keep the
	// default rules. A handful is expected; many mean the walk is wrong.
	slices.Sort(w.missing)
	for _, m := range w.missing {
		t.Log(m)
	}
	if len(w.missing) > 10 {
		t.Errorf("%d Go fields are not in EC2's model", len(w.missing))
	}
	if *updateNames {
		writeNames(t, w.names)
		return
	}
	for key, want := range w.all {
		typ, field, _ := strings.Cut(key, ".")
		tt, m := namedType(typ), member{name: field}
		got := ec2Name{xml: ec2Query.xmlName(tt, m), item: ec2Query.itemName(tt, m)}
		if want.query != "" {
			got.query = ec2Query.queryKey(tt, m)
		}
		if want.xml == "" {
			got.xml = ""
		}
		if want.item == "" {
			got.item = ""
		}
		if got != want {
			t.Errorf("%s: handler's names %+v, EC2's model %+v (run go test ./fake -run TestE2EEC2NamesMatchModel -args -update)", key, got, want)
		}
	}
	for key := range ec2Names {
		if _, ok := w.names[key]; !ok {
			t.Errorf("ec2Names[%q] is not needed by any operation served (run with -update)", key)
		}
	}
	if len(w.all) < 200 {
		t.Errorf("only %d members checked; the walk missed the structures", len(w.all))
	}
}

// namedType is a stand-in reflect.Type with only a name, for the naming
// functions, which read nothing else.
type nameOnly struct {
	reflect.Type
	name string
}

func (n nameOnly) Name() string { return n.name }

func namedType(name string) reflect.Type { return nameOnly{name: name} }

func writeNames(t *testing.T, names map[string]ec2Name) {
	keys := make([]string, 0, len(names))
	for k := range names {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteString(`// Code generated by TestE2EEC2NamesMatchModel -update; DO NOT EDIT.

package fake

// ec2Name holds the EC2 Query protocol's names of one member where they
// differ from the default rules: query (the request parameter; default
// the member name), xml (the answer's element; default the member name
// with a lower-case first letter) and item (the element of each item of a
// list; default "item").
type ec2Name struct{ query, xml, item string }

// ec2Names are the names of EC2 members that differ from the default rules,
// keyed by Go type and field, as EC2's API model spells them.
var ec2Names = map[string]ec2Name{
`)
	for _, k := range keys {
		n := names[k]
		var fields []string
		if n.query != "" {
			fields = append(fields, fmt.Sprintf("query: %q", n.query))
		}
		if n.xml != "" {
			fields = append(fields, fmt.Sprintf("xml: %q", n.xml))
		}
		if n.item != "" {
			fields = append(fields, fmt.Sprintf("item: %q", n.item))
		}
		fmt.Fprintf(&b, "\t%q: {%s},\n", k, strings.Join(fields, ", "))
	}
	b.WriteString("}\n")
	src, err := format.Source([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("ec2names.go", src, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote ec2names.go: %d names", len(keys))
}
