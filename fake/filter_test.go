package fake

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
)

func TestWildcardMatch(t *testing.T) {
	for _, tt := range []struct {
		pattern, s string
		want       bool
	}{
		// Literals match exactly, case included.
		{"", "", true},
		{"", "a", false},
		{"abc", "abc", true},
		{"abc", "ABC", false},
		{"abc", "abcd", false},
		{"abcd", "abc", false},
		// * matches any run of characters, the empty run included.
		{"*", "", true},
		{"*", "anything", true},
		{"a*", "a", true},
		{"a*", "abc", true},
		{"a*", "ba", false},
		{"*c", "abc", true},
		{"*c", "abcd", false},
		{"a*c", "ac", true},
		{"a*c", "abbbc", true},
		{"a*c", "abcb", false},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "acb", false},
		{"**", "x", true},
		{"*a*a*", "banana", true},
		{"*ana", "banana", true},
		{"*anan", "banana", false},
		// ? matches exactly one character.
		{"?", "", false},
		{"?", "a", true},
		{"?", "ab", false},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"??", "é€", true}, // characters, not bytes
		{"?", "€", true},
		{"*?", "", false},
		{"*?", "a", true},
		// \ makes the next character literal.
		{`\*`, "*", true},
		{`\*`, "a", false},
		{`\?`, "?", true},
		{`\?`, "a", false},
		{`\\`, `\`, true},
		{`a\*c`, "a*c", true},
		{`a\*c`, "abc", false},
		{`*\*`, "ab*", true},
		{`*\*`, "ab", false},
		{`\a`, "a", true},
		// A \ at the end is a literal backslash.
		{`a\`, `a\`, true},
		{`a\`, "a", false},
		// Instance IDs as the library asks for them.
		{"i-*", "i-00000000000000001", true},
		{"i-0000000?", "i-00000001", true},
		{"i-0000000?", "i-00000000000000001", false},
	} {
		if got := wildcardMatch(tt.pattern, tt.s); got != tt.want {
			t.Errorf("wildcardMatch(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
		if got := referenceMatch(tt.pattern, tt.s); got != tt.want {
			t.Errorf("referenceMatch(%q, %q) = %v, want %v (the reference is wrong)", tt.pattern, tt.s, got, tt.want)
		}
	}
}

// patternToken is one element of a wildcard pattern: a literal character, or
// one of the wildcards * and ?.
type patternToken struct {
	r        rune
	wildcard bool
}

// tokens splits a pattern into its elements, resolving \ escapes.
func tokens(pattern string) []patternToken {
	p := []rune(pattern)
	var ts []patternToken
	for i := 0; i < len(p); i++ {
		switch {
		case p[i] == '\\' && i+1 < len(p):
			i++
			ts = append(ts, patternToken{r: p[i]})
		case p[i] == '*' || p[i] == '?':
			ts = append(ts, patternToken{r: p[i], wildcard: true})
		default:
			ts = append(ts, patternToken{r: p[i]})
		}
	}
	return ts
}

// referenceMatch is an independent implementation of wildcardMatch: dynamic
// programming over (pattern element, character) pairs.
func referenceMatch(pattern, s string) bool {
	ts, rs := tokens(pattern), []rune(s)
	// m[j] reports whether the elements so far match rs[:j].
	m := make([]bool, len(rs)+1)
	m[0] = true
	for _, tk := range ts {
		next := make([]bool, len(rs)+1)
		for j := range next {
			switch {
			case tk.wildcard && tk.r == '*':
				next[j] = m[j] || j > 0 && next[j-1]
			case tk.wildcard: // ?
				next[j] = j > 0 && m[j-1]
			default:
				next[j] = j > 0 && m[j-1] && rs[j-1] == tk.r
			}
		}
		m = next
	}
	return m[len(rs)]
}

// regexpOf translates a wildcard pattern to an anchored regular expression.
func regexpOf(pattern string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString(`(?s)\A`)
	for _, tk := range tokens(pattern) {
		switch {
		case tk.wildcard && tk.r == '*':
			b.WriteString(".*")
		case tk.wildcard:
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(tk.r)))
		}
	}
	b.WriteString(`\z`)
	return regexp.MustCompile(b.String())
}

// FuzzWildcardMatch compares wildcardMatch with the dynamic-programming
// reference and, for valid UTF-8, with a regular expression.
func FuzzWildcardMatch(f *testing.F) {
	for _, seed := range [][2]string{
		{"*", ""}, {"a*b?c", "axxbyc"}, {`\*\?`, "*?"}, {`a\`, `a\`}, {"*a*a*", "banana"},
		{"i-*", "i-00000000000000001"}, {"??", "é€"}, {"\xff*", "\xfe"}, {"*?*?", "ab"}, {"\uFFFD", "\xff"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, pattern, s string) {
		got := wildcardMatch(pattern, s)
		if want := referenceMatch(pattern, s); got != want {
			t.Fatalf("wildcardMatch(%q, %q) = %v, reference says %v", pattern, s, got, want)
		}
		if isLiteral(pattern) && got != (pattern == s) {
			t.Fatalf("wildcardMatch(%q, %q) = %v for a literal pattern", pattern, s, got)
		}
		if utf8.ValidString(pattern) && utf8.ValidString(s) {
			if want := regexpOf(pattern).MatchString(s); got != want {
				t.Fatalf("wildcardMatch(%q, %q) = %v, regexp says %v", pattern, s, got, want)
			}
		}
	})
}

// item is a resource for testing the generic filter engine.
type item struct {
	name string
	tags []types.Tag
}

func itemFilter(name string) func(item) []string {
	if name == "name" {
		return func(it item) []string { return []string{it.name} }
	}
	return tagFilter(name, func(it item) []types.Tag { return it.tags })
}

func TestFilterSet(t *testing.T) {
	tag := func(k, v string) types.Tag { return types.Tag{Key: aws.String(k), Value: aws.String(v)} }
	items := []item{
		{"web-1", []types.Tag{tag("team", "blue"), tag("env", "prod")}},
		{"web-2", []types.Tag{tag("team", "red")}},
		{"db", nil},
	}
	filter := func(name string, values ...string) types.Filter {
		return types.Filter{Name: aws.String(name), Values: values}
	}
	for _, tt := range []struct {
		name    string
		filters []types.Filter
		want    []string
	}{
		{"no filters match everything", nil, []string{"web-1", "web-2", "db"}},
		{"values of one filter are ORed", []types.Filter{filter("name", "db", "web-2")}, []string{"web-2", "db"}},
		{"filters are ANDed", []types.Filter{filter("name", "web-*"), filter("tag:team", "red")}, []string{"web-2"}},
		{"tag:KEY matches the value of that key", []types.Filter{filter("tag:env", "p*")}, []string{"web-1"}},
		{"tag-key matches any key", []types.Filter{filter("tag-key", "team")}, []string{"web-1", "web-2"}},
		{"a resource without the tag never matches", []types.Filter{filter("tag:team", "*")}, []string{"web-1", "web-2"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fs, err := compileFilters("DescribeItems", tt.filters, itemFilter)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, it := range items {
				if fs.match(it) {
					got = append(got, it.name)
				}
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}

	for _, tt := range []struct {
		name   string
		filter types.Filter
	}{
		{"unknown name", filter("colour", "red")},
		{"no name", types.Filter{Values: []string{"x"}}},
		{"no values", filter("name")},
	} {
		_, err := compileFilters("DescribeItems", []types.Filter{tt.filter}, itemFilter)
		var apiErr smithy.APIError
		if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "InvalidParameterValue" {
			t.Errorf("%s: got %v, want InvalidParameterValue", tt.name, err)
		}
	}
}
