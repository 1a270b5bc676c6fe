package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
)

var updateHelp = flag.Bool("update-help", false, "rewrite testdata/help-*.golden from the help printed")

// helpRun is the help of one command line, and the FlagSet it was made
// from.
type helpRun struct {
	code int
	text string
	fs   *flag.FlagSet
}

func runHelp(t *testing.T, args ...string) helpRun {
	t.Helper()
	var stdout, stderr bytes.Buffer
	var fs *flag.FlagSet
	code := runWith(context.Background(), args, strings.NewReader(""), &stdout, &stderr, noEnv, nil,
		func(a *app) { a.onHelp = func(_ string, f *flag.FlagSet) { fs = f } })
	if stderr.Len() > 0 {
		t.Errorf("%q: stderr %q", args, stderr.String())
	}
	return helpRun{code, stdout.String(), fs}
}

// helpNames are the commands with a help: each subcommand, and "" for the
// command itself.
func helpNames() []string {
	names := []string{""}
	for name := range subcommands {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// flagWord is a flag as prose spells it.
var flagWord = regexp.MustCompile(`--[a-z0-9][a-z0-9-]*`)

// listedFlag is a flag as a help lists it.
var listedFlag = regexp.MustCompile(`^(-[a-z]|--[a-z0-9][a-z0-9-]*),?$`)

// listedFlags returns the flags a help lists, as often as it lists them:
// those at the start of a line indented by two spaces ("  --x N  ...",
// "  -h, --help  ...", "  --a, --b").
func listedFlags(text string) []string {
	var out []string
	for line := range strings.SplitSeq(text, "\n") {
		if !strings.HasPrefix(line, "  -") {
			continue
		}
		for _, field := range strings.Fields(line) {
			if !listedFlag.MatchString(field) {
				break
			}
			out = append(out, strings.TrimLeft(strings.TrimSuffix(field, ","), "-"))
		}
	}
	return out
}

// The help of every command is the same however it is asked for, and lists
// each flag the command parses with exactly once, and nothing else.
func TestHelpListsEachFlagOnce(t *testing.T) {
	for _, name := range helpNames() {
		asks := [][]string{{"help", name}, {name, "help"}, {name, "-h"}, {name, "--help"}, {"--help", name}}
		if name == "" {
			asks = [][]string{{"help"}, {"-h"}, {"--help"}}
		}
		first := runHelp(t, asks[0]...)
		if first.code != exitOK || first.fs == nil || first.text == "" {
			t.Fatalf("%q: exit %d, FlagSet %v, help %q", asks[0], first.code, first.fs, first.text)
		}
		for _, args := range asks[1:] {
			if r := runHelp(t, args...); r.code != exitOK || r.text != first.text {
				t.Errorf("%q: exit %d, and not the help of %q", args, r.code, asks[0])
			}
		}
		count := map[string]int{}
		for _, f := range listedFlags(first.text) {
			count[f]++
		}
		first.fs.VisitAll(func(fl *flag.Flag) {
			if count[fl.Name] != 1 {
				t.Errorf("help of %q lists %s %d times", name, flagName(fl), count[fl.Name])
			}
			delete(count, fl.Name)
		})
		for f := range count {
			t.Errorf("help of %q lists --%s, which it does not take", name, f)
		}
		for i, line := range strings.Split(first.text, "\n") {
			if len(line) > helpWidth {
				t.Errorf("help of %q, line %d: %d columns: %q", name, i+1, len(line), line)
			}
		}
	}
}

// Every flag's help says what it is for in words of its own: it starts
// with a word, does not repeat the flag's name, and names the value a flag
// takes; a boolean flag takes none (or an optional one in brackets).
func TestFlagHelp(t *testing.T) {
	for _, name := range helpNames() {
		args := []string{name, "--help"}
		if name == "" {
			args = []string{"--help"}
		}
		r := runHelp(t, args...)
		if r.fs == nil {
			t.Fatalf("%q: no FlagSet", args)
		}
		r.fs.VisitAll(func(fl *flag.Flag) {
			value, help := flagHelp(fl)
			switch first := []rune(help + " ")[0]; {
			case help == "":
				t.Errorf("%s %s: no help", name, flagName(fl))
			case !unicode.IsLetter(first):
				t.Errorf("%s %s: help %q does not start with a word", name, flagName(fl), help)
			case slices.Contains(flagWord.FindAllString(help, -1), "--"+fl.Name):
				t.Errorf("%s %s: help %q repeats the flag's name", name, flagName(fl), help)
			}
			switch {
			case isBoolFlag(fl) && value != "" && !strings.HasPrefix(value, "["):
				t.Errorf("%s %s: a boolean flag, with the value %q", name, flagName(fl), value)
			case !isBoolFlag(fl) && value == "":
				t.Errorf("%s %s: takes a value, which its help does not name", name, flagName(fl))
			}
		})
	}
}

// The help of describe, as a person reads it.
func TestHelpGolden(t *testing.T) {
	r := runHelp(t, "help", "describe")
	path := filepath.Join("testdata", "help-describe.golden")
	if *updateHelp {
		if err := os.WriteFile(path, []byte(r.text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if r.text != string(want) {
		t.Errorf("help of describe:\n%s\nwant (go test -run TestHelpGolden -update-help rewrites it):\n%s", r.text, want)
	}
}

// A usage string's leading back-quoted value is the flag's value in the
// help; back quotes elsewhere are left as they are.
func TestFlagHelpValue(t *testing.T) {
	for _, tt := range []struct{ usage, value, help string }{
		{"`N` the hop limit", "N", "the hop limit"},
		{"the hop limit", "", "the hop limit"},
		{"`unclosed the hop limit", "", "`unclosed the hop limit"},
		{"a `quoted` word", "", "a `quoted` word"},
	} {
		value, help := flagHelp(&flag.Flag{Usage: tt.usage})
		if value != tt.value || help != tt.help {
			t.Errorf("%q: value %q, help %q; want %q, %q", tt.usage, value, help, tt.value, tt.help)
		}
	}
}
