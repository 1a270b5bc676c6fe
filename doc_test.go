package imdsopts_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strings"
	"testing"
)

// TestDocSnippet keeps the package documentation's unit-test snippet the
// same as the body of TestHardenInstance, which compiles and runs, and its
// hardenInstance the same as example_test.go's, so that the test the
// documentation shows is complete and compiles as written.
func TestDocSnippet(t *testing.T) {
	fset := token.NewFileSet()
	doc, err := parser.ParseFile(fset, "doc.go", nil, parser.ParseComments|parser.PackageClauseOnly)
	if err != nil {
		t.Fatal(err)
	}
	var snippet []string
	for _, line := range strings.Split(doc.Doc.Text(), "\n") {
		if strings.HasPrefix(line, "\tsynctest.Test(") || len(snippet) > 0 && strings.HasPrefix(line, "\t") {
			snippet = append(snippet, strings.TrimPrefix(line, "\t"))
		} else if len(snippet) > 0 && line != "" {
			break
		}
	}
	src, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	f, err := parser.ParseFile(fset, "example_test.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	var body, harden string
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		switch {
		case ok && fn.Name.Name == "TestHardenInstance":
			stmts := fn.Body.List
			from, to := fset.Position(stmts[0].Pos()).Offset, fset.Position(stmts[len(stmts)-1].End()).Offset
			body = string(src[from:to])
		case ok && fn.Name.Name == "hardenInstance":
			harden = string(src[fset.Position(fn.Pos()).Offset:fset.Position(fn.End()).Offset])
		}
	}
	// The code under test, as the documentation shows it: a code block
	// from "func hardenInstance(" to its closing brace.
	var shown []string
	for _, line := range strings.Split(doc.Doc.Text(), "\n") {
		if strings.HasPrefix(line, "\tfunc hardenInstance(") || len(shown) > 0 && strings.HasPrefix(line, "\t") {
			shown = append(shown, strings.TrimPrefix(line, "\t"))
			if line == "\t}" {
				break
			}
		}
	}
	if harden == "" || strings.Join(shown, "\n") != harden {
		t.Errorf("doc.go's hardenInstance differs from example_test.go's:\n--- doc.go\n%s\n--- example_test.go\n%s", strings.Join(shown, "\n"), harden)
	}
	var lines []string
	for _, l := range strings.Split(body, "\n") {
		if l != "" { // go/doc drops the blank lines of a code block
			lines = append(lines, strings.TrimPrefix(l, "\t"))
		}
	}
	got, want := strings.TrimSpace(strings.Join(snippet, "\n")), strings.TrimSpace(strings.Join(lines, "\n"))
	if got == "" || got != want {
		t.Errorf("doc.go's snippet differs from TestHardenInstance's body:\n--- doc.go\n%s\n--- example_test.go\n%s", got, want)
	}
}
