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

func ExampleIsNil() {
	var p *strings.Builder
	var v fmt.Stringer = p
	fmt.Println(v == nil, check.IsNil(v))
	// Output: false true
}
