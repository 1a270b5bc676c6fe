package awscli

import (
	"fmt"

	jmespath "github.com/jmespath-community/go-jmespath"
	"github.com/jmespath-community/go-jmespath/pkg/functions"
	"github.com/jmespath-community/go-jmespath/pkg/parsing"

	"github.com/imdsopts/imdsopts/internal/check"
)

// Query is a compiled --query expression: JMESPath, applied to a document
// before it is formatted. A Query is safe for concurrent use.
type Query struct {
	expr string
	jp   jmespath.JMESPath
	// keys are the keys of the expression's multi-select hashes, in the
	// order written: JSON output prints them in that order.
	keys []string
}

// knownFunctions are the JMESPath functions a query may call, by name.
var knownFunctions = func() map[string][]functions.ArgSpec {
	m := map[string][]functions.ArgSpec{}
	for _, f := range functions.GetDefaultFunctions() {
		m[f.Name] = f.Arguments
	}
	return m
}()

// CompileQuery compiles expr. Beyond its syntax, every function it calls must
// exist and be given a number of arguments it takes: JMESPath finds those
// mistakes only when it evaluates the call, which may be after the command
// has acted. Errors are *QueryError.
func CompileQuery(expr string) (*Query, error) {
	ast, err := parsing.NewParser().Parse(expr)
	if err != nil {
		return nil, &QueryError{Expr: expr, Err: fmt.Errorf("invalid JMESPath expression: %w", err)}
	}
	if err := checkFunctions(ast); err != nil {
		return nil, &QueryError{Expr: expr, Err: err}
	}
	jp, err := jmespath.Compile(expr)
	if err != nil {
		return nil, &QueryError{Expr: expr, Err: fmt.Errorf("invalid JMESPath expression: %w", err)}
	}
	q := &Query{expr: expr, jp: jp}
	walk(ast, func(n parsing.ASTNode) {
		if k, ok := n.Value.(string); ok && n.NodeType == parsing.ASTKeyValPair {
			q.keys = append(q.keys, k)
		}
	})
	return q, nil
}

// walk calls fn for n and every node below it, depth first, in the order
// written.
func walk(n parsing.ASTNode, fn func(parsing.ASTNode)) {
	fn(n)
	for _, c := range n.Children {
		walk(c, fn)
	}
}

// checkFunctions reports the first call of an unknown function, or with a
// number of arguments the function does not take.
func checkFunctions(ast parsing.ASTNode) error {
	var err error
	walk(ast, func(n parsing.ASTNode) {
		if err != nil || n.NodeType != parsing.ASTFunctionExpression {
			return
		}
		name, _ := n.Value.(string)
		args, ok := knownFunctions[name]
		if !ok {
			err = fmt.Errorf("unknown function %s()", check.Quote(name))
			return
		}
		least, most := 0, len(args)
		for _, a := range args {
			if !a.Optional {
				least++
			}
			if a.Variadic {
				most = -1
			}
		}
		switch got := len(n.Children); {
		case got < least:
			err = fmt.Errorf("function %s() takes at least %d argument(s), not %d", name, least, got)
		case most >= 0 && got > most:
			err = fmt.Errorf("function %s() takes at most %d argument(s), not %d", name, most, got)
		}
	})
	return err
}

// String returns the expression as it was written.
func (q *Query) String() string { return q.expr }

// Search applies the query to doc and returns what it selects. An
// expression that fails on doc, such as a function given a value of the
// wrong type, is a *QueryError.
func (q *Query) Search(doc any) (v any, err error) {
	defer func() {
		// The expression is the user's: a fault of the evaluator on it is
		// that expression's error, not a crash.
		if r := recover(); r != nil {
			v, err = nil, &QueryError{Expr: q.expr, Err: fmt.Errorf("evaluation failed: %v", r)}
		}
	}()
	v, err = q.jp.Search(doc)
	if err != nil {
		return nil, &QueryError{Expr: q.expr, Err: err}
	}
	return v, nil
}

// QueryError reports a --query expression that does not compile, or that
// failed when applied to a document.
type QueryError struct {
	Expr string // the expression as written
	Err  error
}

// maxErrorText bounds the text of the evaluator's error in QueryError's
// message: JMESPath's type errors print the value they were given, which may
// be a whole document.
const maxErrorText = 200

// Error returns `--query "EXPR": ERR`, with the expression quoted and
// shortened as Quote does and the error's text escaped and shortened too.
func (e *QueryError) Error() string {
	return fmt.Sprintf("--query %s: %s", check.Quote(e.Expr), check.Shorten(escapeControls(e.Err.Error(), ""), maxErrorText))
}

// Unwrap returns Err.
func (e *QueryError) Unwrap() error { return e.Err }
