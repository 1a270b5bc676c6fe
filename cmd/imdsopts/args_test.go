package main

import (
	"errors"
	"flag"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The command line's syntax errors, each naming the argument or flag.
func TestArgSyntax(t *testing.T) {
	describe := func(args ...string) []string { return append([]string{"describe", "--instance-id", validID}, args...) }
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"three dashes", describe("---region", "us-east-1"), `bad flag syntax: "---region"`},
		{"no name", describe("-=x"), `bad flag syntax: "-=x"`},
		{"no name, two dashes", []string{"--=x", "describe"}, `bad flag syntax: "--=x"`},
		{"unknown", describe("--regoin=us-east-1"), "unknown option --regoin; did you mean --region?"},
		{"unprintable name", describe("--a\x1bb"), `unknown option "--a\x1bb"`},
		{"no value", describe("--region"), "flag needs an argument: --region"},
		{"bad bool", describe("--debug=maybe"), `invalid value "maybe" for flag --debug: parse error`},
		{"bad value", describe("--color=pink"), `invalid value "pink" for flag --color: must be one of "on", "off", "auto"`},
		{"bad skeleton", []string{"modify-instance-metadata-options", "--generate-cli-skeleton", "both"},
			`invalid value "both" for flag --generate-cli-skeleton: must be "input" or "output"`},
		{"after --", describe("--", "--debug"), `unexpected argument "--debug"`},
		{"positional", describe("extra"), `unexpected argument "extra"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := runFake(t, nil, tt.args...)
			wantCode(t, r, exitUsage)
			if r.stderr != "imdsopts: error: "+tt.want+"\n" {
				t.Errorf("stderr %q, want the error %q", r.stderr, tt.want)
			}
		})
	}
}

// A flag given twice with different values is refused, naming it and both
// values, on either side of the subcommand; the same value twice is
// accepted, and so are the flags that add up (--filters, --role-arn...).
func TestFlagGivenTwice(t *testing.T) {
	f, _, id := newFake(t, "")
	for _, tt := range []struct {
		name string
		args []string
		want string // "" when accepted
	}{
		{"global, after", []string{"describe", "--instance-id", id, "--output", "json", "--output=text"},
			`--output given twice, with "json" and "text": give it once`},
		{"global, both sides", []string{"--output", "json", "describe", "--instance-id", id, "--output", "text"},
			`--output given twice, with "json" and "text": give it once`},
		{"subcommand flag", []string{"describe", "--instance-id", id, "--instance-id", "i-0123456789abcdef0"},
			`--instance-id given twice, with "` + id + `" and "i-0123456789abcdef0": give it once`},
		{"bool", []string{"--debug", "describe", "--instance-id", id, "--debug=false"},
			`--debug given twice, with "true" and "false": give it once`},
		{"option", []string{"modify-instance-metadata-options", "--instance-id", id, "--http-tokens", "required", "--http-tokens", "optional"},
			`--http-tokens given twice, with "required" and "optional": give it once`},
		{"same value", []string{"--output", "text", "describe", "--instance-id", id, "--output", "text", "--instance-id=" + id}, ""},
		{"dry-run pair: the last wins", []string{"modify-instance-metadata-options", "--instance-id", id, "--http-tokens", "required", "--dry-run", "--no-dry-run"}, ""},
		{"filters add up", []string{"plan", "--filters", "Name=instance-state-name,Values=running", "--filters", "Name=instance-id,Values=" + id,
			"--http-tokens", "required", "--min-imdsv1-free-days", "0"}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := runFake(t, f, tt.args...)
			if tt.want == "" {
				wantCode(t, r, exitOK)
				return
			}
			wantCode(t, r, exitUsage)
			if r.stderr != "imdsopts: error: "+tt.want+"\n" {
				t.Errorf("stderr %q, want the error %q", r.stderr, tt.want)
			}
		})
	}
}

// FuzzParseArgs: the argument parser never panics, and takes a command line
// as flag.FlagSet.Parse does: the same values set in the same order, the
// same arguments left, an error exactly when Parse has one, and then a
// usage error.
func FuzzParseArgs(f *testing.F) {
	for _, args := range [][]string{
		{"-s", "v", "--b", "rest"}, {"--s=a=b", "--b=false", "--", "-s"}, {"-", "-s"}, {"--s"}, {"---s"}, {"-=", "x"},
		{"--b=maybe"}, {"--nope", "x"}, {"-s", "-b", "--opt", "x", "y"}, {"--opt", "bad"}, {"--b=1", "--s="},
	} {
		f.Add(strings.Join(args, "\x00"))
	}
	f.Fuzz(func(t *testing.T, joined string) {
		args := strings.Split(joined, "\x00")
		ours, oursSet := fuzzFlagSet()
		theirs, theirsSet := fuzzFlagSet()
		theirs.SetOutput(io.Discard)
		rest, err := parseArgs(ours, args, nil)
		theirErr := theirs.Parse(args)
		if (err == nil) != (theirErr == nil) {
			t.Fatalf("%q: error %v, flag.Parse's %v", args, err, theirErr)
		}
		if err != nil {
			var ee *exitError
			if !errors.As(err, &ee) || ee.code != exitUsage {
				t.Fatalf("%q: %v is not a usage error", args, err)
			}
			return
		}
		if !slices.Equal(rest, theirs.Args()) || len(rest) > 0 && &rest[0] != &args[len(args)-len(rest)] {
			t.Errorf("%q: left %q, flag.Parse left %q", args, rest, theirs.Args())
		}
		if !slices.Equal(*oursSet, *theirsSet) {
			t.Errorf("%q: set %q, flag.Parse set %q", args, *oursSet, *theirsSet)
		}
		// Recording what is given refuses exactly a flag given again with
		// another value.
		checked, _ := fuzzFlagSet()
		given := givenFlags{}
		_, err = parseArgs(checked, args, given)
		var ee *exitError
		switch twice := strings.Contains(fmtErr(err), " given twice, with "); {
		case err != nil && (!errors.As(err, &ee) || ee.code != exitUsage || !twice):
			t.Errorf("%q: %v", args, err)
		case err == nil && len(given) == 0 && len(*oursSet) > 0:
			t.Errorf("%q: nothing recorded", args)
		}
	})
}

func fmtErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// fuzzFlagSet returns a FlagSet of a string flag s, a bool b and a flag opt
// that takes "x" only, and the values they were set to, in order.
func fuzzFlagSet() (*flag.FlagSet, *[]string) {
	fs := flag.NewFlagSet("fuzz", flag.ContinueOnError)
	var set []string
	fs.Func("s", "", func(v string) error {
		set = append(set, "s="+v)
		return nil
	})
	fs.BoolFunc("b", "", func(v string) error {
		b, err := strconv.ParseBool(v)
		set = append(set, "b="+strconv.FormatBool(b))
		return err
	})
	fs.Func("opt", "", func(v string) error {
		if v != "x" {
			return errors.New("must be x")
		}
		set = append(set, "opt="+v)
		return nil
	})
	fs.Bool("h", false, "")
	return fs, &set
}
