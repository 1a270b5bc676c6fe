package awscli

import (
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/imdsopts/imdsopts/internal/check"
)

func TestSanitize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text: ok", "plain text: ok"},
		{"two\nlines\tand a tab", "two\nlines\tand a tab"},
		{"over\rwrite", `over\rwrite`},
		{"\x1b[31mred\x1b[0m", `\x1b[31mred\x1b[0m`},
		{"\x1b]0;title\a", `\x1b]0;title\x07`},
		{"c1 \u009b2J", `c1 \u009b2J`},
		{"bidi \u202e\u2066 \u2028", `bidi \u202e\u2066 \u2028`},
		{"bad \xff\xfe", `bad \xff\xfe`},
		{"ünïcode, 日本, U+FFFD \ufffd", "ünïcode, 日本, U+FFFD \ufffd"},
	}
	for _, tt := range tests {
		if got := Sanitize(tt.in); got != tt.want {
			t.Errorf("Sanitize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// Whatever the input, Quote's result is short and holds no control
// character, and Sanitize's holds none but line feeds and tabs, and is valid
// UTF-8.
func FuzzSafe(f *testing.F) {
	for _, s := range []string{"x", "\x1b[2J", "\r\n", "\u202e", "\xff", strings.Repeat("é", 100)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q := check.Quote(s)
		if len(q) > 4*check.MaxEchoed+40 || strings.ContainsFunc(q, isControl) || !utf8.ValidString(q) {
			t.Fatalf("check.Quote(%q) = %q", s, q)
		}
		if len(s) <= check.MaxEchoed {
			if u, err := strconv.Unquote(q); err != nil || u != s {
				t.Fatalf("check.Quote(%q) = %q does not unquote to it: %q %v", s, q, u, err)
			}
		}
		z := Sanitize(s)
		if strings.ContainsFunc(z, func(r rune) bool { return isControl(r) && r != '\n' && r != '\t' }) || !utf8.ValidString(z) {
			t.Fatalf("Sanitize(%q) = %q", s, z)
		}
		if !strings.ContainsFunc(s, isControl) && utf8.ValidString(s) && z != s {
			t.Fatalf("Sanitize(%q) = %q changed clean text", s, z)
		}
	})
}

func TestNearest(t *testing.T) {
	flags := []string{"http-tokens", "http-put-response-hop-limit", "http-endpoint", "http-protocol-ipv6", "instance-metadata-tags",
		"instance-id", "dry-run", "no-dry-run", "region", "profile", "output", "query", "endpoint-url", "wait", "wait-timeout"}
	subcommands := []string{"modify-instance-metadata-options", "describe", "resolve", "plan", "apply", "help"}
	tests := []struct {
		name       string
		candidates []string
		want       string
	}{
		{"http-token", flags, "http-tokens"},
		{"http-tokenz", flags, "http-tokens"},
		{"HTTP-TOKENS", flags, "http-tokens"},
		{"regoin", flags, "region"},
		{"instance-ids", flags, "instance-id"},
		{"endpoint", flags, "endpoint-url"},
		{"hop-limit", flags, ""},
		{"zzz", flags, ""},
		{"", flags, ""},
		{strings.Repeat("http-tokens", 100), flags, ""},
		{"aply", subcommands, "apply"},
		{"aplpy", subcommands, "apply"},
		{"descirbe", subcommands, "describe"},
		{"modify", subcommands, "modify-instance-metadata-options"},
		{"plans", subcommands, "plan"},
		{"pla", subcommands, "plan"},
		{"x", subcommands, ""},
	}
	for _, tt := range tests {
		got, ok := Nearest(tt.name, tt.candidates)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("Nearest(%.40q) = %q, %v; want %q", tt.name, got, ok, tt.want)
		}
	}
}
