package main

import (
	"flag"
	"regexp"
	"strings"

	"github.com/imdsopts/imdsopts/internal/awscli"
	"github.com/imdsopts/imdsopts/internal/check"
)

// Command lines are parsed here rather than by flag.FlagSet.Parse, whose
// errors are sentences to be taken apart again: each error below is built
// from what is known when it happens (the argument, the flag, the value,
// the error of the flag's Value). The syntax is the flag package's: -name
// and --name alike, --name=value, --name value for every flag but a
// boolean one, -- ending the flags, and the first argument that is not a
// flag ending them too (as "-" alone does).

// givenFlags records the value each flag of a command line was given, its
// global options on either side of the subcommand included, so that a flag
// given again with another value is refused.
type givenFlags map[string]string

// repeatable is implemented by the Value of a flag that may be given more
// than once, each value adding to the others (--filters, --role-arn):
// giving it again is no conflict.
type repeatable interface {
	flag.Value
	repeatable()
}

// listFunc is a repeatable flag: each value given is passed to the
// function, which adds it to what the earlier ones gave.
type listFunc func(string) error

func (f listFunc) Set(s string) error { return f(s) }
func (f listFunc) String() string     { return "" }
func (listFunc) repeatable()          {}

// safeName is a flag name that may be printed as it is.
var safeName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// parseArgs sets the flags at the start of args in fs, and returns the
// arguments after them: from the first one that is not a flag, or after
// "--". given, when not nil, records the flags set, and refuses a flag
// given again with another value unless it is repeatable; nil parses
// without recording (a look ahead at the arguments). Errors are usage
// errors naming the flag and the value.
func parseArgs(fs *flag.FlagSet, args []string, given givenFlags) (rest []string, err error) {
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if len(arg) < 2 || arg[0] != '-' {
			return args[i:], nil
		}
		if arg == "--" {
			return args[i+1:], nil
		}
		name := strings.TrimPrefix(arg[1:], "-")
		if name == "" || name[0] == '-' || name[0] == '=' {
			return nil, usageErrorf("bad flag syntax: %s", check.Quote(arg))
		}
		name, value, hasValue := strings.Cut(name, "=")
		fl := fs.Lookup(name)
		if fl == nil {
			return nil, unknownFlag(fs, name)
		}
		if !hasValue && !isBoolFlag(fl) {
			if i+1 == len(args) {
				return nil, usageErrorf("flag needs an argument: --%s", name)
			}
			i++
			value, hasValue = args[i], true
		}
		if !hasValue {
			value = "true"
		}
		if err := given.add(fl, value); err != nil {
			return nil, err
		}
		if err := fs.Set(name, value); err != nil {
			if !hasValue {
				return nil, usageErrorf("invalid boolean flag --%s: %v", name, err)
			}
			return nil, usageErrorf("invalid value %s for flag --%s: %v", check.Quote(value), name, err)
		}
	}
	return nil, nil
}

// add records that flag fl was given value; it refuses another value than
// one given before, unless fl is repeatable.
func (g givenFlags) add(fl *flag.Flag, value string) error {
	if g == nil {
		return nil
	}
	if _, ok := fl.Value.(repeatable); ok {
		return nil
	}
	if old, ok := g[fl.Name]; ok && old != value {
		return usageErrorf("--%s given twice, with %s and %s: give it once", fl.Name, check.Quote(old), check.Quote(value))
	}
	g[fl.Name] = value
	return nil
}

// unknownFlag reports a flag fs does not define, with the nearest one it
// does.
func unknownFlag(fs *flag.FlagSet, name string) error {
	if !safeName.MatchString(name) {
		return usageErrorf("unknown option %s", check.Quote("--"+name))
	}
	var known []string
	fs.VisitAll(func(f *flag.Flag) {
		if len(f.Name) > 1 {
			known = append(known, f.Name)
		}
	})
	if near, ok := awscli.Nearest(name, known); ok {
		return usageErrorf("unknown option --%s; did you mean --%s?", name, near)
	}
	return usageErrorf("unknown option --%s", name)
}

// isBoolFlag reports whether fl takes no value unless one is joined to it
// with "=".
func isBoolFlag(fl *flag.Flag) bool {
	b, ok := fl.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}
