package pace

import (
	"strings"
	"testing"
)

// TestPageTokensKeepDigests: tokens of any length are remembered by a
// digest, and one answered twice is caught, with an error that quotes
// only the start of it.
func TestPageTokensKeepDigests(t *testing.T) {
	tokens := NewPageTokens("DescribeInstances", 10)
	long := strings.Repeat("x", 100_000)
	if err := tokens.Next(long); err != nil {
		t.Fatal(err)
	}
	err := tokens.Next(long)
	if err == nil || !strings.Contains(err.Error(), "answered the page token") || len(err.Error()) > 1000 {
		t.Errorf("a token answered twice: %.300v", err)
	}
}
