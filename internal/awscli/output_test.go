package awscli

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
)

// optionsDoc is the output of "aws ec2 modify-instance-metadata-options".
func optionsDoc() map[string]any {
	return map[string]any{
		"InstanceId": "i-00000000000000001",
		"InstanceMetadataOptions": map[string]any{
			"State":                   "applied",
			"HttpTokens":              "required",
			"HttpPutResponseHopLimit": 2.0,
			"HttpEndpoint":            "enabled",
			"HttpProtocolIpv6":        "enabled",
			"InstanceMetadataTags":    "enabled",
		},
	}
}

// The service model's order of the members of the document.
var optionsOrder = []string{"InstanceId", "InstanceMetadataOptions",
	"State", "HttpTokens", "HttpPutResponseHopLimit", "HttpEndpoint", "HttpProtocolIpv6", "InstanceMetadataTags"}

func mustQuery(t *testing.T, expr string) *Query {
	t.Helper()
	q, err := CompileQuery(expr)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// Each format prints what the AWS CLI prints for the same document (checked
// against the AWS CLI by the command's differential tests).
func TestPrinterFormats(t *testing.T) {
	tests := []struct {
		name   string
		format Format
		query  string
		color  bool
		want   string
	}{
		{"json", JSON, "", false, `{
    "InstanceId": "i-00000000000000001",
    "InstanceMetadataOptions": {
        "State": "applied",
        "HttpTokens": "required",
        "HttpPutResponseHopLimit": 2,
        "HttpEndpoint": "enabled",
        "HttpProtocolIpv6": "enabled",
        "InstanceMetadataTags": "enabled"
    }
}
`},
		{"zero format is json", "", "InstanceId", false, "\"i-00000000000000001\"\n"},
		{"text", Text, "", false, "i-00000000000000001\nINSTANCEMETADATAOPTIONS\tenabled\tenabled\t2\trequired\tenabled\tapplied\n"},
		{"table", Table, "", false, `-------------------------------------------
|      ModifyInstanceMetadataOptions      |
+--------------+--------------------------+
|  InstanceId  |  i-00000000000000001     |
+--------------+--------------------------+
||        InstanceMetadataOptions        ||
|+--------------------------+------------+|
||  HttpEndpoint            |  enabled   ||
||  HttpProtocolIpv6        |  enabled   ||
||  HttpPutResponseHopLimit |  2         ||
||  HttpTokens              |  required  ||
||  InstanceMetadataTags    |  enabled   ||
||  State                   |  applied   ||
|+--------------------------+------------+|
`},
		// The AWS CLI writes redundant resets around every line too.
		{"table in colour", Table, "[InstanceId]", true, "-------------------------------\n" +
			"|ModifyInstanceMetadataOptions|\n" +
			"+-----------------------------+\n" +
			"|  \x1b[1m\x1b[34mi-00000000000000001\x1b[0m        |\n" +
			"+-----------------------------+\n"},
		{"query scalar json", JSON, "InstanceMetadataOptions.HttpPutResponseHopLimit", false, "2\n"},
		{"query scalar text", Text, "InstanceMetadataOptions.HttpTokens", false, "required\n"},
		{"query missing json", JSON, "Nope", false, "null\n"},
		{"query missing text", Text, "Nope", false, "None\n"},
		{"query empty object", JSON, "`{}`", false, ""},
		{"query hash keeps its order", JSON, "{z: InstanceMetadataOptions.State, a: InstanceId, m: [InstanceMetadataOptions.HttpTokens, InstanceMetadataOptions.HttpPutResponseHopLimit]}", false, `{
    "z": "applied",
    "a": "i-00000000000000001",
    "m": [
        "required",
        2
    ]
}
`},
		{"query hash text", Text, "{z: InstanceMetadataOptions.State, a: InstanceId, m: [InstanceMetadataOptions.HttpTokens, InstanceMetadataOptions.HttpPutResponseHopLimit]}", false,
			"i-00000000000000001\tapplied\nM\trequired\nM\t2\n"},
		{"query list text", Text, "[InstanceId, InstanceMetadataOptions.State]", false, "i-00000000000000001\tapplied\n"},
		{"query functions", JSON, "length(keys(InstanceMetadataOptions))", false, "6\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Printer{Format: tt.format, Color: tt.color, KeyOrder: optionsOrder}
			if tt.query != "" {
				p.Query = mustQuery(t, tt.query)
			}
			got, err := p.Render("ModifyInstanceMetadataOptions", optionsDoc())
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

// JSON escapes as Python's json module does; numbers print as the AWS CLI
// prints them; keys outside the order sort after it.
func TestPrinterJSONValues(t *testing.T) {
	doc := map[string]any{
		"b": "tab\tquote\" back\\ nl\n esc\x1b bell\a ü", "a": []any{}, "c": map[string]any{}, "Known": true,
		"n": []any{1.5, -3.0, 1e20, math.NaN(), math.Inf(1), math.Inf(-1), nil, false},
	}
	p := &Printer{KeyOrder: []string{"Known"}}
	got, err := p.Render("", doc)
	if err != nil {
		t.Fatal(err)
	}
	want := `{
    "Known": true,
    "a": [],
    "b": "tab\tquote\" back\\ nl\n esc\u001b bell\u0007 ü",
    "c": {},
    "n": [
        1.5,
        -3,
        1e+20,
        NaN,
        Infinity,
        -Infinity,
        null,
        false
    ]
}
`
	if string(got) != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

// Values with control characters cannot drive a terminal through any
// format: they are escaped.
func TestPrinterEscapesControls(t *testing.T) {
	doc := map[string]any{"Error": "bad\x1b[2J\r\nvalue\u202e", "Tags": map[string]any{"k\x1b]0;x\a": "v"}}
	for f, want := range map[Format]string{Text: `bad\x1b[2J\r\nvalue\u202e`, Table: `bad\x1b[2J\r\nvalue\u202e`, JSON: `bad\u001b[2J\r\nvalue\u202e`} {
		p := &Printer{Format: f}
		got, err := p.Render("T\x1bitle", doc)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.ContainsAny(got, "\x1b\r\a") || bytes.Contains(got, []byte("\u202e")) {
			t.Errorf("%s: control characters survive:\n%q", f, got)
		}
		if !bytes.Contains(got, []byte(want)) {
			t.Errorf("%s: value not escaped as %s:\n%q", f, want, got)
		}
	}
}

// A query that fails on the document is a *QueryError that names the
// expression; nothing is rendered.
func TestPrinterQueryFails(t *testing.T) {
	p := &Printer{Query: mustQuery(t, "abs(InstanceId)")}
	got, err := p.Render("", optionsDoc())
	var qe *QueryError
	if !errors.As(err, &qe) || qe.Expr != "abs(InstanceId)" || got != nil {
		t.Fatalf("err %v, rendered %q", err, got)
	}
	if !strings.HasPrefix(err.Error(), `--query "abs(InstanceId)": `) || strings.Contains(err.Error(), "0x") {
		t.Errorf("message %q", err)
	}
}

func TestParseFormat(t *testing.T) {
	for _, f := range formats {
		if got, err := ParseFormat(string(f)); got != f || err != nil {
			t.Errorf("%s: %q %v", f, got, err)
		}
	}
	_, err := ParseFormat("yaml\x1b" + strings.Repeat("x", 1<<20))
	if err == nil || len(err.Error()) > 200 || strings.Contains(err.Error(), "\x1b") || !strings.Contains(err.Error(), `"json", "text", "table"`) {
		t.Errorf("error %.300q", err)
	}
}
