package main

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	jmespath "github.com/jmespath-community/go-jmespath"
	"github.com/jmespath-community/go-jmespath/pkg/parsing"
)

// A document is what a subcommand prints, as JSON-like values:
// map[string]any, []any, string, float64, bool and nil, the values JMESPath
// works on. Fields the service did not return are left out, as the AWS CLI
// does.

// optionsDoc is the AWS CLI's shape of ModifyInstanceMetadataOptions'
// output: InstanceId and InstanceMetadataOptions.
func optionsDoc(instanceID *string, o *types.InstanceMetadataOptionsResponse) map[string]any {
	doc := map[string]any{}
	if instanceID != nil {
		doc["InstanceId"] = *instanceID
	}
	if o != nil {
		opts := map[string]any{}
		put := func(k, v string) {
			if v != "" {
				opts[k] = v
			}
		}
		put("State", string(o.State))
		put("HttpTokens", string(o.HttpTokens))
		if o.HttpPutResponseHopLimit != nil {
			opts["HttpPutResponseHopLimit"] = float64(aws.ToInt32(o.HttpPutResponseHopLimit))
		}
		put("HttpEndpoint", string(o.HttpEndpoint))
		put("HttpProtocolIpv6", string(o.HttpProtocolIpv6))
		put("InstanceMetadataTags", string(o.InstanceMetadataTags))
		doc["InstanceMetadataOptions"] = opts
	}
	return doc
}

// knownKeyOrder is the order in which the AWS CLI prints the keys of the
// documents here: the order of the members in the service model.
var knownKeyOrder = []string{
	"InstanceId", "InstanceMetadataOptions",
	"State", "HttpTokens", "HttpPutResponseHopLimit", "HttpEndpoint", "DryRun", "HttpProtocolIpv6", "InstanceMetadataTags",
	"Value", "Source",
	// plan and apply
	"Items", "Counts", "Calls", "Throttled", "ElapsedSeconds",
	"InstanceState", "Status", "Changes", "Downgrade", "IMDSv1Calls", "Error", "MetadataOptions",
	"change", "applied", "satisfied", "held", "pending-until-start", "refused-downgrade", "failed", "not-attempted",
}

// printer formats documents as --output and --query ask.
type printer struct {
	format string // json, text or table
	query  jmespath.JMESPath
	// keyRank orders the keys of JSON objects: the keys of the query's
	// multi-select hashes in the order written, then knownKeyOrder; other
	// keys sort after them, alphabetically.
	keyRank map[string]int
	color   bool
}

// newPrinter checks --output, --query and --color.
func newPrinter(g *globals, getenv func(string) string, stdout io.Writer) (*printer, error) {
	p := &printer{format: g.output, keyRank: map[string]int{}}
	if p.format == "" {
		switch env := getenv("AWS_DEFAULT_OUTPUT"); env {
		case "":
			p.format = "json"
		case "json", "text", "table":
			p.format = env
		default:
			return nil, configError(fmt.Errorf("AWS_DEFAULT_OUTPUT %q: must be one of \"json\", \"text\", \"table\"", env))
		}
	}
	if g.query != "" {
		q, err := jmespath.Compile(g.query)
		if err != nil {
			return nil, usageErrorf("--query %q: invalid JMESPath expression: %v", g.query, err)
		}
		p.query = q
		if ast, err := parsing.NewParser().Parse(g.query); err == nil {
			hashKeys(ast, p.keyRank)
		}
	}
	for _, k := range knownKeyOrder {
		if _, ok := p.keyRank[k]; !ok {
			p.keyRank[k] = len(p.keyRank)
		}
	}
	switch g.color {
	case "on":
		p.color = true
	case "auto":
		p.color = isTerminal(stdout)
	}
	return p, nil
}

// hashKeys records the keys of the multi-select hashes of a query in the
// order they are written.
func hashKeys(n parsing.ASTNode, rank map[string]int) {
	if n.NodeType == parsing.ASTKeyValPair {
		if k, ok := n.Value.(string); ok {
			if _, seen := rank[k]; !seen {
				rank[k] = len(rank)
			}
		}
	}
	for _, c := range n.Children {
		hashKeys(c, rank)
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// print applies --query to doc and writes it to w in the --output format.
// title is the table's title, the operation's name as the AWS CLI has it.
func (p *printer) print(w io.Writer, title string, doc any) error {
	if p.query != nil {
		var err error
		if doc, err = p.query.Search(doc); err != nil {
			return usageErrorf("--query %q: %v", p.query, err)
		}
	}
	var b bytes.Buffer
	switch p.format {
	case "text":
		formatText(&b, doc, "", nil)
	case "table":
		formatTable(&b, title, doc, p.color)
	default:
		// The AWS CLI prints nothing for an empty object.
		if m, ok := doc.(map[string]any); !ok || len(m) > 0 {
			p.writeJSON(&b, doc, 0)
			b.WriteByte('\n')
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

// writeJSON writes v as Python's json.dump(indent=4, ensure_ascii=False)
// does, which is how the AWS CLI prints JSON.
func (p *printer) writeJSON(b *bytes.Buffer, v any, depth int) {
	indent := func(d int) {
		b.WriteByte('\n')
		b.WriteString(strings.Repeat("    ", d))
	}
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 0 {
			b.WriteString("{}")
			return
		}
		b.WriteByte('{')
		for i, k := range p.sortedKeys(v) {
			if i > 0 {
				b.WriteByte(',')
			}
			indent(depth + 1)
			writeJSONString(b, k)
			b.WriteString(": ")
			p.writeJSON(b, v[k], depth+1)
		}
		indent(depth)
		b.WriteByte('}')
	case []any:
		if len(v) == 0 {
			b.WriteString("[]")
			return
		}
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			indent(depth + 1)
			p.writeJSON(b, e, depth+1)
		}
		indent(depth)
		b.WriteByte(']')
	case string:
		writeJSONString(b, v)
	case nil:
		b.WriteString("null")
	case bool:
		if v {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case float64:
		b.WriteString(formatNumber(v, "NaN", "Infinity"))
	default:
		b.WriteString(pyStr(v))
	}
}

func (p *printer) sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		ri, iok := p.keyRank[keys[i]]
		rj, jok := p.keyRank[keys[j]]
		switch {
		case iok && jok:
			return ri < rj
		case iok != jok:
			return iok
		default:
			return keys[i] < keys[j]
		}
	})
	return keys
}

// writeJSONString quotes s as Python's json module does with
// ensure_ascii=False: only the quote, the backslash and control characters
// are escaped.
func writeJSONString(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			if r < 0x20 {
				fmt.Fprintf(b, `\u%04x`, r)
			} else if r == utf8.RuneError {
				b.WriteString(`\ufffd`)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
}

// formatNumber prints whole numbers as integers (the service's numbers are
// integers) and others in Python's shortest form.
func formatNumber(f float64, nan, inf string) string {
	switch {
	case math.IsNaN(f):
		return nan
	case math.IsInf(f, 1):
		return inf
	case math.IsInf(f, -1):
		return "-" + inf
	case f == math.Trunc(f) && math.Abs(f) < 1e16:
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// pyStr is Python's str() of a JSON value, which the AWS CLI's text and
// table output print.
func pyStr(v any) string {
	switch v := v.(type) {
	case nil:
		return "None"
	case bool:
		if v {
			return "True"
		}
		return "False"
	case string:
		return v
	case float64:
		return formatNumber(v, "nan", "inf")
	case int:
		return strconv.Itoa(v)
	default:
		return fmt.Sprint(v)
	}
}

func isScalar(v any) bool {
	switch v.(type) {
	case map[string]any, []any:
		return false
	}
	return true
}

func sortedMapKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// formatText writes v in the AWS CLI's text format: the scalars of an
// object on one line, tab-separated, in key order, after the upper-cased
// name of the key that holds the object; nested objects and lists on the
// lines that follow.
func formatText(b *bytes.Buffer, v any, identifier string, scalarKeys []string) {
	switch v := v.(type) {
	case map[string]any:
		var scalars []string
		var nonScalar []string
		if scalarKeys == nil {
			for _, k := range sortedMapKeys(v) {
				if isScalar(v[k]) {
					scalars = append(scalars, pyStr(v[k]))
				} else {
					nonScalar = append(nonScalar, k)
				}
			}
		} else {
			for _, k := range scalarKeys {
				if e, ok := v[k]; ok {
					scalars = append(scalars, pyStr(e))
				} else {
					scalars = append(scalars, "")
				}
			}
			for _, k := range sortedMapKeys(v) {
				if !containsString(scalarKeys, k) {
					nonScalar = append(nonScalar, k)
				}
			}
		}
		if len(scalars) > 0 {
			if identifier != "" {
				scalars = append([]string{strings.ToUpper(identifier)}, scalars...)
			}
			b.WriteString(strings.Join(scalars, "\t"))
			b.WriteByte('\n')
		}
		for _, k := range nonScalar {
			formatText(b, v[k], k, nil)
		}
	case []any:
		formatTextList(b, v, identifier)
	default:
		b.WriteString(pyStr(v))
		b.WriteByte('\n')
	}
}

func formatTextList(b *bytes.Buffer, list []any, identifier string) {
	if len(list) == 0 {
		return
	}
	hasDict, hasList := false, false
	for _, e := range list {
		switch e.(type) {
		case map[string]any:
			hasDict = true
		case []any:
			hasList = true
		}
	}
	switch {
	case hasDict:
		keySet := map[string]bool{}
		for _, e := range list {
			if m, ok := e.(map[string]any); ok {
				for k, v := range m {
					if isScalar(v) {
						keySet[k] = true
					}
				}
			}
		}
		keys := make([]string, 0, len(keySet))
		for k := range keySet {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, e := range list {
			formatText(b, e, identifier, keys)
		}
	case hasList:
		var scalars, others []any
		for _, e := range list {
			if isScalar(e) {
				scalars = append(scalars, e)
			} else {
				others = append(others, e)
			}
		}
		if len(scalars) > 0 {
			formatScalarList(b, scalars, identifier)
		}
		for _, e := range others {
			formatText(b, e, identifier, nil)
		}
	default:
		formatScalarList(b, list, identifier)
	}
}

func formatScalarList(b *bytes.Buffer, list []any, identifier string) {
	if identifier != "" {
		for _, e := range list {
			b.WriteString(strings.ToUpper(identifier) + "\t" + pyStr(e) + "\n")
		}
		return
	}
	parts := make([]string, len(list))
	for i, e := range list {
		parts[i] = pyStr(e)
	}
	b.WriteString(strings.Join(parts, "\t"))
	b.WriteByte('\n')
}
