// Package check makes arguments and values safe to judge and to print:
// typed-nil clients, and values quoted, escaped and cut for messages.
package check

import (
	"reflect"
	"strconv"
	"unicode/utf8"
)

// MaxEchoed is how many bytes of a bad value a message repeats.
const MaxEchoed = 64

// Quote returns s as a Go string literal, control characters escaped, cut to
// its first MaxEchoed bytes (at a character boundary) with its length named,
// so that a bad value is safe to print however large or strange it is.
func Quote(s string) string {
	if len(s) <= MaxEchoed {
		return strconv.Quote(s)
	}
	return strconv.Quote(s[:runeStart(s, MaxEchoed)]) + "... (" + strconv.Itoa(len(s)) + " bytes)"
}

// Shorten returns s, or when s is longer than n bytes, its first n bytes
// (cut on a character boundary) followed by "... (LENGTH bytes)". Unlike
// Quote, it neither quotes nor escapes.
func Shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:runeStart(s, n)] + "... (" + strconv.Itoa(len(s)) + " bytes)"
}

// runeStart returns the largest i <= n at which a character of s starts.
func runeStart(s string, n int) int {
	for n > 0 && n < len(s) && !utf8.RuneStart(s[n]) {
		n--
	}
	return n
}

// IsNil reports whether v is nil or a nil pointer, map, slice, func or
// channel inside an interface.
func IsNil(v any) bool {
	if v == nil {
		return true
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan, reflect.Interface:
		return rv.IsNil()
	}
	return false
}
