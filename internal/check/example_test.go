package check_test

import (
	"fmt"
	"strings"

	"github.com/imdsopts/imdsopts/internal/check"
)

func ExampleQuote() {
	fmt.Println(check.Quote("eu-west-1\n"))
	fmt.Println(check.Quote(strings.Repeat("x", 70)))
	// Output:
	// "eu-west-1\n"
	// "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"... (70 bytes)
}

// A typed nil pointer in an interface is not a nil interface, and would
// panic at its first call: IsNil sees it.
func ExampleIsNil() {
	var p *strings.Builder
	fmt.Println(check.IsNil(p), check.IsNil(nil), check.IsNil("x"))
	// Output: true true false
}
