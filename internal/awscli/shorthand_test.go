package awscli

import (
	"flag"
	"io"
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
		{`[{"Name":"a","Values":["1"],"Other":1}]`, nil, `unknown parameter in [0]: "Other", must be one of: Name, Values`},
		// JSON member names match exactly, as in the AWS CLI.
		{`[{"name":"a","Values":["1"]}]`, nil, `unknown parameter in [0]: "name"`},
		{`{"Name":"a","Name":"b","Values":["1"]}`, nil, "parameter Name given twice"},
		{`{"Name":"a","Values":"1"}`, nil, `invalid type for parameter Values, value: "1", type: string, valid types: array`},
		{`{"Name":null,"Values":["1"]}`, nil, "invalid type for parameter Name, value: null"},
		{`{"Name":"a","Values":[1]}`, nil, "invalid type for parameter Values[0], value: 1, type: number, valid types: string"},
		{`[{"Name":"a","Values":[]}]`, nil, "missing Values"},
		{`[{"Values":["1"]}]`, nil, "missing Name"},
		{`{"Name":"a","Values":["1"]} {}`, nil, "more than one value"},
		{`{"Name":"a",`, nil, "invalid JSON"},
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
		{"prod", nil, "expected KEY=VALUE (Name=NAME,Values=V1,V2)"},
		{"=x", nil, "expected KEY=VALUE"},
	}
	for _, tt := range tests {
		got, err := ParseFilters(tt.in)
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

func TestParseShorthand(t *testing.T) {
	tests := []struct {
		in   string
		want []Param
	}{
		{"A=1", []Param{{Key: "A", Value: "1"}}},
		{"A=1,B=2", []Param{{Key: "A", Value: "1"}, {Key: "B", Value: "2"}}},
		{"A=1,2,B=3", []Param{{Key: "A", List: []string{"1", "2"}}, {Key: "B", Value: "3"}}},
		{"A=[]", []Param{{Key: "A", List: []string{}}}},
		{"A=[x]", []Param{{Key: "A", List: []string{"x"}}}},
		{`A="x,y"`, []Param{{Key: "A", Value: "x,y"}}},
		{`A=x\,y`, []Param{{Key: "A", Value: "x,y"}}},
	}
	for _, tt := range tests {
		got, err := ParseShorthand(tt.in)
		if err != nil || !cmp.Equal(got, tt.want) {
			t.Errorf("%q: %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

// listFlags is a FlagSet with the kinds of flags ExpandListArgs meets: list
// flags that append, a string flag and a boolean one.
func listFlags() (fs *flag.FlagSet, lists map[string]*[]string) {
	fs = flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	lists = map[string]*[]string{}
	for _, name := range []string{"instance-ids", "filters", "tags"} {
		var values []string
		lists[name] = &values
		fs.Func(name, "", func(s string) error {
			values = append(values, s)
			return nil
		})
	}
	fs.String("query", "", "")
	fs.String("http-tokens", "", "")
	fs.Bool("allow-downgrade", false, "")
	return fs, lists
}

var listNames = map[string]bool{"instance-ids": true, "filters": true, "tags": true}

func TestExpandListArgs(t *testing.T) {
	fs, _ := listFlags()
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
		got, err := ExpandListArgs(fs, tt.in, listNames)
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
	fs2, lists := listFlags()
	args, _ := ExpandListArgs(fs2, []string{"--instance-ids", "i-1,i-2", "i-3", "--filters", "Name=a,Values=b,c", "Name=d,Values=e", "--tags", "k=v"}, listNames)
	if err := fs2.Parse(args); err != nil {
		t.Fatal(err)
	}
	if !cmp.Equal(*lists["instance-ids"], []string{"i-1,i-2", "i-3"}) || len(*lists["filters"]) != 2 || !cmp.Equal(*lists["tags"], []string{"k=v"}) {
		t.Errorf("parsed %q %q %q", *lists["instance-ids"], *lists["filters"], *lists["tags"])
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
		filters, err := ParseFilters(s)
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

// ParseShorthand never panics; what it accepts has distinct, non-empty keys
// made of key characters, and writing it back in quoted form parses to the
// same.
func FuzzParseShorthand(f *testing.F) {
	for _, s := range []string{"A=1", "A=1,2,B=3", "A=[]", `A="x,y"`, `A=x\,y`, "A=[x,y],B='z'", "=", "A=", "A=[", `A="`, "A=1,A=2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		params, err := ParseShorthand(s)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		var parts []string
		quote := func(v string) string {
			return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`
		}
		for _, p := range params {
			if p.Key == "" || seen[p.Key] || strings.ContainsFunc(p.Key, func(r rune) bool { return r > 0x7f || !isKeyByte(byte(r)) }) {
				t.Fatalf("%q: bad key in %+v", s, params)
			}
			seen[p.Key] = true
			if p.List != nil {
				q := make([]string, len(p.List))
				for i, v := range p.List {
					q[i] = quote(v)
				}
				parts = append(parts, p.Key+"=["+strings.Join(q, ",")+"]")
			} else {
				parts = append(parts, p.Key+"="+quote(p.Value))
			}
		}
		again, err := ParseShorthand(strings.Join(parts, ","))
		if err != nil {
			t.Fatalf("%q: written back as %q: %v", s, strings.Join(parts, ","), err)
		}
		for _, p := range params {
			if p.List != nil && p.Value != "" {
				t.Fatalf("%q: a list with a Value: %+v", s, p)
			}
		}
		if !cmp.Equal(params, again) {
			t.Fatalf("%q: %+v, written back and parsed: %+v", s, params, again)
		}
	})
}
