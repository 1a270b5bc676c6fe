package awscli

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/imdsopts/imdsopts/internal/check"
)

// Mistakes JMESPath would find only when it evaluates the call are found
// when the query is compiled, before any command has acted.
func TestCompileQueryErrors(t *testing.T) {
	tests := []struct {
		expr, want string
	}{
		{"InstanceId[?", "invalid JMESPath expression: SyntaxError"},
		{"nosuch(@)", `unknown function "nosuch"()`},
		{"Items[].nosuch(@)", `unknown function "nosuch"()`},
		{"InstanceId || to_string(nosuch(@))", `unknown function "nosuch"()`},
		{"Items[?contains(Status)]", "function contains() takes at least 2 argument(s), not 1"},
		{"length(@, @)", "function length() takes at most 1 argument(s), not 2"},
		{"not_null()", "function not_null() takes at least 1 argument(s), not 0"},
	}
	for _, tt := range tests {
		q, err := CompileQuery(tt.expr)
		var qe *QueryError
		if !errors.As(err, &qe) || qe.Expr != tt.expr || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: %v, %v; want a *QueryError with %q", tt.expr, q, err, tt.want)
			continue
		}
		if !strings.HasPrefix(err.Error(), "--query "+check.Quote(tt.expr)+": ") {
			t.Errorf("%q: message %q", tt.expr, err)
		}
	}
	// Functions with optional and variadic arguments take what they take.
	for _, expr := range []string{"not_null(a, b, c)", "merge(@, @, @)", "join(', ', [a, b])", "length(@)", "sort_by(Items, &Status)"} {
		if _, err := CompileQuery(expr); err != nil {
			t.Errorf("%q: %v", expr, err)
		}
	}
}

// A query that compiles may still fail on a document: a function given a
// value of the wrong type. The error names the expression, not the compiled
// object, and shows no more than a short part of the value.
func TestQuerySearchErrors(t *testing.T) {
	big := map[string]any{"Items": []any{map[string]any{"Error": strings.Repeat("x", 100000) + "\x1b[2J"}}}
	for _, expr := range []string{"abs(Items)", "sort_by(Items, &Error) | abs(@)", "Items[0].Error.length(@) | abs(to_string(@))"} {
		q := mustQuery(t, expr)
		_, err := q.Search(big)
		var qe *QueryError
		if !errors.As(err, &qe) || qe.Expr != expr {
			t.Errorf("%q: %v, want a *QueryError", expr, err)
			continue
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "--query "+check.Quote(expr)+": ") || len(msg) > 400 || strings.Contains(msg, "\x1b") {
			t.Errorf("%q: message (%d bytes) %.500q", expr, len(msg), msg)
		}
	}
}

func TestQueryKeys(t *testing.T) {
	q := mustQuery(t, "{z: a, m: {y: b, a: c}, b: [d, {x: e}]}")
	if want := []string{"z", "m", "y", "a", "b", "x"}; !cmp.Equal(q.keys, want) {
		t.Errorf("keys %q, want %q", q.keys, want)
	}
	if q.String() != "{z: a, m: {y: b, a: c}, b: [d, {x: e}]}" {
		t.Errorf("String %q", q.String())
	}
}

// No expression makes compiling or searching panic; a search either works or
// fails with a *QueryError.
func FuzzQuery(f *testing.F) {
	for _, s := range []string{"InstanceId", "Items[?Status=='held'].InstanceId", "{a: Counts, b: length(Items)}", "sort_by(Items, &Error)",
		"abs(Items)", "Items[0:10:2]", "Items[-1]", "`{}`", "merge(Counts, Calls)", "let $x = Items in $x", "to_number(Items[0].Error)", "&a"} {
		f.Add(s)
	}
	doc := map[string]any{
		"Items":  []any{map[string]any{"InstanceId": "i-1", "Status": "held", "IMDSv1Calls": 3.0, "Error": "x"}, map[string]any{"InstanceId": "i-2"}},
		"Counts": map[string]any{"held": 1.0},
		"Calls":  map[string]any{"DescribeInstances": 2.0},
	}
	f.Fuzz(func(t *testing.T, expr string) {
		q, err := CompileQuery(expr)
		if err != nil {
			var qe *QueryError
			if !errors.As(err, &qe) {
				t.Fatalf("%q: compile error %T", expr, err)
			}
			return
		}
		if _, err := q.Search(doc); err != nil {
			var qe *QueryError
			if !errors.As(err, &qe) {
				t.Fatalf("%q: search error %T", expr, err)
			}
		}
		for _, f := range formats {
			(&Printer{Format: f, Query: q}).Render("T", doc)
		}
	})
}
