package main

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"
)

func TestParseFilters(t *testing.T) {
	f := func(name string, values ...string) types.Filter {
		return types.Filter{Name: aws.String(name), Values: values}
	}
	tests := []struct {
		in      string
		want    []types.Filter
		wantErr string
	}{
		{"Name=tag:env,Values=prod", []types.Filter{f("tag:env", "prod")}, ""},
		{"Name=instance-state-name,Values=running,stopped", []types.Filter{f("instance-state-name", "running", "stopped")}, ""},
		{"Values=a,b,Name=tag:x", []types.Filter{f("tag:x", "a", "b")}, ""},
		{" Name = tag:env , Values = prod , dev ", []types.Filter{f("tag:env", "prod", "dev")}, ""},
		{"Name=tag:env,Values=[prod,dev]", []types.Filter{f("tag:env", "prod", "dev")}, ""},
		{"Name=tag:env,Values=[ prod ]", []types.Filter{f("tag:env", "prod")}, ""},
		{`Name=tag:env,Values="a,b",c`, []types.Filter{f("tag:env", "a,b", "c")}, ""},
		{`Name=tag:env,Values='it''s'`, nil, "expected"},
		{`Name=tag:env,Values='it\'s'`, []types.Filter{f("tag:env", "it's")}, ""},
		{`Name=tag:env,Values=a\,b`, []types.Filter{f("tag:env", "a,b")}, ""},
		{"Name=tag:env,Values=a=b", []types.Filter{f("tag:env", "a=b")}, ""},
		{"Name=tag:name,Values=web *", []types.Filter{f("tag:name", "web *")}, ""},
		{"Name=tag:env,Values=", []types.Filter{f("tag:env", "")}, ""},
		{"Name=tag:Ünïcode,Values=ü", []types.Filter{f("tag:Ünïcode", "ü")}, ""},
		{`{"Name":"tag:env","Values":["prod","dev"]}`, []types.Filter{f("tag:env", "prod", "dev")}, ""},
		{`[{"Name":"a","Values":["1"]},{"Name":"b","Values":["2"]}]`, []types.Filter{f("a", "1"), f("b", "2")}, ""},
		{`[{"Name":"a","Values":["1"],"Other":1}]`, nil, "invalid JSON"},
		{`[{"Name":"a","Values":[]}]`, nil, "missing Values"},
		{`[{"Values":["1"]}]`, nil, "missing Name"},
		{`{"Name":"a","Values":["1"]} {}`, nil, "more than one value"},
		{"[]", nil, "no filter"},
		{"Name=tag:env", nil, "missing Values"},
		{"Values=prod", nil, "missing Name"},
		{"Name=a,b,Values=c", nil, "the Name member must be one string"},
		{"Name=a,Name=b,Values=c", nil, "Name given twice"},
		{"name=a,values=b", nil, `unknown parameter "name"`},
		{"tag:env=prod", nil, `unknown parameter "tag:env"`},
		{"Name=a,Values=[b,c", nil, `expected ","`},
		{`Name=a,Values="b`, nil, "unterminated quote"},
		{"Name=a,Values=[b]c", nil, `expected ","`},
		{"", nil, "expected KEY=VALUE"},
		{"prod", nil, "expected KEY=VALUE"},
		{"=x", nil, "expected KEY=VALUE"},
	}
	for _, tt := range tests {
		got, err := parseFilters(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%q: %v, %v; want error with %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b types.Filter) bool {
			return aws.ToString(a.Name) == aws.ToString(b.Name) && cmp.Equal(a.Values, b.Values)
		})); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestParseTagAndIDs(t *testing.T) {
	for in, want := range map[string][2]string{"env=prod": {"env", "prod"}, "k=a=b": {"k", "a=b"}, "k=": {"k", ""}, "a b=c,d": {"a b", "c,d"}} {
		k, v, err := parseTag(in)
		if err != nil || k != want[0] || v != want[1] {
			t.Errorf("%q: %q %q %v", in, k, v, err)
		}
	}
	for _, in := range []string{"env", "=prod", ""} {
		if _, _, err := parseTag(in); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
	for in, want := range map[string][]string{"i-1": {"i-1"}, "i-1,i-2": {"i-1", "i-2"}, "i-1, i-2": {"i-1", "i-2"}, `["i-1","i-2"]`: {"i-1", "i-2"}} {
		if got, err := parseInstanceIDs(in); err != nil || !cmp.Equal(got, want) {
			t.Errorf("%q: %q %v", in, got, err)
		}
	}
	if _, err := parseInstanceIDs(`["i-1"`); err == nil {
		t.Error("bad JSON list: no error")
	}
}

func TestExpandListArgs(t *testing.T) {
	fs := newFlagSet("apply")
	newGlobals().register(fs)
	newFleetFlags().register(fs)
	tests := []struct {
		in, want []string
		wantErr  string
	}{
		{[]string{"--instance-ids", "a", "b", "--http-tokens", "required"}, []string{"--instance-ids=a", "--instance-ids=b", "--http-tokens", "required"}, ""},
		{[]string{"-tags", "a=1", "b=2"}, []string{"--tags=a=1", "--tags=b=2"}, ""},
		{[]string{"--filters=Name=a,Values=b", "c"}, []string{"--filters=Name=a,Values=b", "c"}, ""},
		// The value of another flag is never taken for a list flag.
		{[]string{"--query", "--tags", "--tags", "x=1"}, []string{"--query", "--tags", "--tags=x=1"}, ""},
		{[]string{"--allow-downgrade", "--tags", "x=1"}, []string{"--allow-downgrade", "--tags=x=1"}, ""},
		{[]string{"--tags", "x=1", "--", "--tags"}, []string{"--tags=x=1", "--", "--tags"}, ""},
		{[]string{"--instance-ids", "--tags", "x=1"}, nil, "flag needs an argument: --instance-ids"},
		{[]string{"--tags"}, nil, "flag needs an argument: --tags"},
	}
	for _, tt := range tests {
		got, err := expandListArgs(fs, tt.in, fleetListFlags)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%q: %q, %v; want error %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !cmp.Equal(got, tt.want) {
			t.Errorf("%q: %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	// The rewritten arguments parse.
	f := newFleetFlags()
	fs2 := newFlagSet("apply")
	f.register(fs2)
	args, _ := expandListArgs(fs2, []string{"--instance-ids", "i-1,i-2", "i-3", "--filters", "Name=a,Values=b,c", "Name=d,Values=e", "--tags", "k=v"}, fleetListFlags)
	if err := fs2.Parse(args); err != nil {
		t.Fatal(err)
	}
	if !cmp.Equal(f.instanceIDs, []string{"i-1", "i-2", "i-3"}) || len(f.filters) != 2 || f.tags["k"] != "v" {
		t.Errorf("parsed %q %v %v", f.instanceIDs, f.filters, f.tags)
	}
}

// The shorthand parser never panics, and what it accepts is a complete
// filter.
func FuzzParseFilters(f *testing.F) {
	for _, s := range []string{"Name=tag:env,Values=prod", "Name=a,Values=[b,c]", `Name=a,Values="b,c",'d'`, `Values=a\,b,Name=x`,
		`[{"Name":"a","Values":["1"]}]`, `{"Name":"a","Values":["1"]}`, "Name=a,Values=b=c,d", "=", "[", "{", `"`, `Name='`, "Name=a,Values=[", "\\"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		filters, err := parseFilters(s)
		if err != nil {
			return
		}
		if len(filters) == 0 {
			t.Fatalf("%q: no filter and no error", s)
		}
		for _, fl := range filters {
			if aws.ToString(fl.Name) == "" || len(fl.Values) == 0 {
				t.Fatalf("%q: incomplete filter %+v", s, fl)
			}
		}
	})
}
