package fake

import (
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// The filter engine of the Describe operations: EC2's Filters, ANDed across
// filters and ORed across the values of one filter, with the wildcards * and
// ?. It is generic over the resource type; each operation supplies the
// lookup from a filter name to the function that gives a resource's values.

// tagFilter handles the tag:KEY and tag-key filters for any resource.
func tagFilter[T any](name string, tagsOf func(T) []types.Tag) func(T) []string {
	if name == "tag-key" {
		return func(r T) []string {
			var keys []string
			for _, t := range tagsOf(r) {
				keys = append(keys, aws.ToString(t.Key))
			}
			return keys
		}
	}
	if key, ok := strings.CutPrefix(name, "tag:"); ok {
		return func(r T) []string {
			var values []string
			for _, t := range tagsOf(r) {
				if aws.ToString(t.Key) == key {
					values = append(values, aws.ToString(t.Value))
				}
			}
			return values
		}
	}
	return nil
}

// filter is one compiled filter: a resource matches when any of its values
// for the filter matches any of the filter's values, which are split into
// literals, looked up in a set, and wildcard patterns.
type filter[T any] struct {
	values   func(T) []string
	literals map[string]bool
	patterns []string
}

func (f filter[T]) match(v string) bool {
	return f.literals[v] || slices.ContainsFunc(f.patterns, func(p string) bool { return wildcardMatch(p, v) })
}

// filterSet is a list of filters that must all match.
type filterSet[T any] []filter[T]

func (fs filterSet[T]) match(r T) bool {
	for _, f := range fs {
		if !slices.ContainsFunc(f.values(r), f.match) {
			return false
		}
	}
	return true
}

// compileFilters checks filters against the names lookup knows.
func compileFilters[T any](op string, filters []types.Filter, lookup func(string) func(T) []string) (filterSet[T], error) {
	fs := make(filterSet[T], 0, len(filters))
	for _, f := range filters {
		if f.Name == nil {
			return nil, badRequest(op, codeInvalidParameterValue, "The filter 'null' is invalid")
		}
		values := lookup(*f.Name)
		if values == nil {
			return nil, badRequest(op, codeInvalidParameterValue, "The filter '%s' is invalid", *f.Name)
		}
		// What EC2 answers for a filter without values is unverified; the
		// fake refuses it rather than guess whether it matches all or none.
		if len(f.Values) == 0 {
			return nil, badRequest(op, codeInvalidParameterValue, "The filter '%s' must have at least one value", *f.Name)
		}
		c := filter[T]{values: values, literals: make(map[string]bool)}
		for _, v := range f.Values {
			if isLiteral(v) {
				c.literals[v] = true
			} else {
				c.patterns = append(c.patterns, v)
			}
		}
		fs = append(fs, c)
	}
	return fs, nil
}

// isLiteral reports whether pattern matches exactly the one string equal to
// it: it has no wildcard or escape, and is valid UTF-8 without U+FFFD (which
// wildcardMatch also sees for each byte of invalid UTF-8).
func isLiteral(pattern string) bool {
	return !strings.ContainsAny(pattern, "*?\\\uFFFD") && utf8.ValidString(pattern)
}

// wildcardMatch reports whether s matches pattern, where * matches any run
// of characters, ? any single character, and \ makes the next character
// literal.
func wildcardMatch(pattern, s string) bool {
	p, t := []rune(pattern), []rune(s)
	pi, ti := 0, 0
	star, mark := -1, 0
	for ti < len(t) {
		if pi < len(p) {
			switch c := p[pi]; {
			case c == '*':
				star, mark = pi, ti
				pi++
				continue
			case c == '?':
				pi++
				ti++
				continue
			case c == '\\' && pi+1 < len(p):
				if p[pi+1] == t[ti] {
					pi += 2
					ti++
					continue
				}
			case c == t[ti]:
				pi++
				ti++
				continue
			}
		}
		if star < 0 {
			return false
		}
		mark++
		pi, ti = star+1, mark
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
