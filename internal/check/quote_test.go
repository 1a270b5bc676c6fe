package check_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/imdsopts/imdsopts/internal/check"
)

func TestQuote(t *testing.T) {
	long := strings.Repeat("x", 10<<20)
	tests := []struct{ in, want string }{
		{"optional", `"optional"`},
		{"", `""`},
		{"a\x1b[2Jb\r\n", `"a\x1b[2Jb\r\n"`},
		{"rlo\u202eevil", `"rlo\u202eevil"`},
		{"bad\xffutf8", `"bad\xffutf8"`},
		{strings.Repeat("y", check.MaxEchoed), strconv.Quote(strings.Repeat("y", check.MaxEchoed))},
		{long, `"` + strings.Repeat("x", check.MaxEchoed) + `"... (10485760 bytes)`},
		// Cut on a character boundary.
		{strings.Repeat("x", check.MaxEchoed-1) + "ü" + "tail", `"` + strings.Repeat("x", check.MaxEchoed-1) + `"... (69 bytes)`},
	}
	for _, tt := range tests {
		if got := check.Quote(tt.in); got != tt.want {
			t.Errorf("check.Quote(%.80q) = %.120q, want %.120q", tt.in, got, tt.want)
		}
	}
}

func TestShorten(t *testing.T) {
	for _, tt := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"0123456789", 10, "0123456789"},
		{"0123456789a", 10, "0123456789... (11 bytes)"},
		{"ééééé", 3, "é... (10 bytes)"},
	} {
		if got := check.Shorten(tt.in, tt.n); got != tt.want {
			t.Errorf("check.Shorten(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}
