package awscli

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Sanitize returns s with every control character escaped except line
// feeds and tabs, which a message may hold on purpose: carriage returns,
// ESC (so no terminal escape sequence survives), other C0 and C1 controls,
// Unicode's bidirectional formatting characters and line separators, and
// invalid UTF-8. Escapes are written as in Go: \r, \x1b, \u202e.
func Sanitize(s string) string { return escapeControls(s, "\n\t") }

// escapeControls escapes the characters Sanitize escapes, and line feeds
// and tabs too unless keep holds them.
func escapeControls(s, keep string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case !isControl(r) || strings.ContainsRune(keep, r):
			b.WriteString(s[i : i+size])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
		i += size
	}
	return b.String()
}

// isControl reports whether r changes how a terminal shows what follows it
// rather than showing itself.
func isControl(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029'
}

// Nearest returns the candidate the user probably meant by name: the one
// with the fewest single-character edits (insertions, deletions,
// substitutions and swaps of neighbours) when they are few for the
// length, else the only candidate that name begins. Letter case counts
// for nothing. It returns false when no candidate is close enough, and never
// returns name itself.
func Nearest(name string, candidates []string) (string, bool) {
	const longest = 100 // longer names are no typo, and cost time to compare
	if name == "" || len(name) > longest {
		return "", false
	}
	lower := strings.ToLower(name)
	best, bestDist := "", -1
	for _, c := range slices.Sorted(slices.Values(candidates)) {
		if c == name {
			continue
		}
		d := EditDistance(lower, strings.ToLower(c))
		if d <= max(1, min(len(name), len(c))/3) && (bestDist < 0 || d < bestDist) {
			best, bestDist = c, d
		}
	}
	if bestDist >= 0 {
		return best, true
	}
	var prefixed []string
	for _, c := range candidates {
		if len(name) >= 3 && len(c) > len(name) && strings.HasPrefix(strings.ToLower(c), lower) {
			prefixed = append(prefixed, c)
		}
	}
	if len(prefixed) == 1 {
		return prefixed[0], true
	}
	return "", false
}

// EditDistance is the optimal string alignment distance between a and b,
// byte by byte: insertions, deletions, substitutions and swaps of
// neighbours each count one edit.
func EditDistance(a, b string) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
