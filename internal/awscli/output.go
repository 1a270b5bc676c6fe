package awscli

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/imdsopts/imdsopts/internal/check"
)

// Format is an output format of the AWS CLI (--output).
type Format string

// The output formats. JSON is the AWS CLI's default.
const (
	JSON  Format = "json"
	Text  Format = "text"
	Table Format = "table"
)

// formats are the values --output takes, in the AWS CLI's order.
var formats = []Format{JSON, Text, Table}

// ParseFormat returns the Format named s, or an error naming the formats.
func ParseFormat(s string) (Format, error) {
	if f := Format(s); slices.Contains(formats, f) {
		return f, nil
	}
	return "", fmt.Errorf("%s: must be one of \"json\", \"text\", \"table\"", check.Quote(s))
}

// Printer formats documents as the AWS CLI prints a command's output: the
// document selected by Query, in Format. The zero Printer prints the whole
// document as JSON.
type Printer struct {
	Format Format
	// Query, when not nil, selects what is printed (--query).
	Query *Query
	// Color turns on the ANSI colours of the table format (--color on).
	Color bool
	// KeyOrder orders the keys of objects in JSON output, as the AWS CLI
	// prints them in the order of the members in the service model. Keys of
	// the Query's multi-select hashes come first, in the order written,
	// then KeyOrder; other keys sort after them, alphabetically. The text
	// and table formats sort keys alphabetically, as the AWS CLI does.
	KeyOrder []string
}

// Render returns what the command prints for doc: Query applied, then
// formatted. title is the table format's title, the operation's name. A
// query that fails on doc is a *QueryError. JSON output of an empty object
// is empty, as with the AWS CLI.
//
// Control characters (as Sanitize has them, line feeds and tabs included)
// are escaped in every format, so that output written to a terminal cannot
// drive it: JSON escapes them as \uXXXX, which the AWS CLI does only for
// those below U+0020; the text and table formats as Sanitize does, where
// the AWS CLI writes them raw.
//
// Render writes nothing: a command decides what to do when the query fails
// or the output cannot be written, knowing what it has done.
func (p *Printer) Render(title string, doc any) ([]byte, error) {
	if p.Query != nil {
		var err error
		if doc, err = p.Query.Search(doc); err != nil {
			return nil, err
		}
	}
	var b bytes.Buffer
	switch p.Format {
	case Text:
		formatText(&b, doc, "", nil)
	case Table:
		formatTable(&b, title, doc, p.Color)
	default:
		if m, ok := doc.(map[string]any); !ok || len(m) > 0 {
			(&jsonWriter{b: &b, rank: p.keyRank()}).value(doc, 0)
			b.WriteByte('\n')
		}
	}
	return b.Bytes(), nil
}

// keyRank numbers the keys of JSON objects in the order they are printed.
func (p *Printer) keyRank() map[string]int {
	rank := map[string]int{}
	add := func(keys []string) {
		for _, k := range keys {
			if _, ok := rank[k]; !ok {
				rank[k] = len(rank)
			}
		}
	}
	if p.Query != nil {
		add(p.Query.keys)
	}
	add(p.KeyOrder)
	return rank
}

// jsonWriter writes values as Python's json.dump(indent=4,
// ensure_ascii=False) does, which is how the AWS CLI prints JSON.
type jsonWriter struct {
	b    *bytes.Buffer
	rank map[string]int
}

func (j *jsonWriter) newline(depth int) {
	j.b.WriteByte('\n')
	j.b.WriteString(strings.Repeat("    ", depth))
}

func (j *jsonWriter) value(v any, depth int) {
	b := j.b
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 0 {
			b.WriteString("{}")
			return
		}
		b.WriteByte('{')
		for i, k := range j.sortedKeys(v) {
			if i > 0 {
				b.WriteByte(',')
			}
			j.newline(depth + 1)
			writeJSONString(b, k)
			b.WriteString(": ")
			j.value(v[k], depth+1)
		}
		j.newline(depth)
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
			j.newline(depth + 1)
			j.value(e, depth+1)
		}
		j.newline(depth)
		b.WriteByte(']')
	case string:
		writeJSONString(b, v)
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case float64:
		b.WriteString(formatNumber(v, "NaN", "Infinity"))
	default:
		b.WriteString(str(v))
	}
}

func (j *jsonWriter) sortedKeys(m map[string]any) []string {
	return slices.SortedFunc(maps.Keys(m), func(a, b string) int {
		ra, aok := j.rank[a]
		rb, bok := j.rank[b]
		switch {
		case aok && bok:
			return cmp.Compare(ra, rb)
		case aok:
			return -1
		case bok:
			return 1
		}
		return strings.Compare(a, b)
	})
}

// writeJSONString quotes s as Python's json module does with
// ensure_ascii=False: only the quote, the backslash and control characters
// are escaped (and invalid UTF-8 becomes U+FFFD). Control characters are
// those of Sanitize, more than Python's.
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
			switch {
			case r < 0x20 || isControl(r) && r <= 0xffff:
				// Python escapes only the first; the others (DEL, C1
				// controls, bidirectional formatting) are escaped too,
				// so that no string can drive a terminal.
				fmt.Fprintf(b, `\u%04x`, r)
			case r == utf8.RuneError:
				b.WriteString(`\ufffd`)
			default:
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

// str is Python's str() of a document value, which the AWS CLI's text and
// table formats print, with control characters escaped.
func str(v any) string {
	switch v := v.(type) {
	case nil:
		return "None"
	case bool:
		if v {
			return "True"
		}
		return "False"
	case string:
		return escapeControls(v, "")
	case float64:
		return formatNumber(v, "nan", "inf")
	case int:
		return strconv.Itoa(v)
	default:
		return escapeControls(fmt.Sprint(v), "")
	}
}

func isScalar(v any) bool {
	switch v.(type) {
	case map[string]any, []any:
		return false
	}
	return true
}

// formatText writes v in the AWS CLI's text format: the scalars of an
// object on one line, tab-separated, in key order, after the upper-cased
// name of the key that holds the object; nested objects and lists on the
// lines that follow.
func formatText(b *bytes.Buffer, v any, identifier string, scalarKeys []string) {
	switch v := v.(type) {
	case map[string]any:
		var scalars, nonScalar []string
		if scalarKeys == nil {
			for _, k := range slices.Sorted(maps.Keys(v)) {
				if isScalar(v[k]) {
					scalars = append(scalars, str(v[k]))
				} else {
					nonScalar = append(nonScalar, k)
				}
			}
		} else {
			for _, k := range scalarKeys {
				if e, ok := v[k]; ok {
					scalars = append(scalars, str(e))
				} else {
					scalars = append(scalars, "")
				}
			}
			for _, k := range slices.Sorted(maps.Keys(v)) {
				if !slices.Contains(scalarKeys, k) {
					nonScalar = append(nonScalar, k)
				}
			}
		}
		if len(scalars) > 0 {
			if identifier != "" {
				scalars = append([]string{strings.ToUpper(str(identifier))}, scalars...)
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
		b.WriteString(str(v))
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
		keys := slices.Sorted(maps.Keys(keySet))
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
			b.WriteString(strings.ToUpper(str(identifier)) + "\t" + str(e) + "\n")
		}
		return
	}
	parts := make([]string, len(list))
	for i, e := range list {
		parts[i] = str(e)
	}
	b.WriteString(strings.Join(parts, "\t"))
	b.WriteByte('\n')
}

// IsTerminal reports whether w is a terminal (a character device), as the
// AWS CLI decides for --color auto and as progress lines need.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
