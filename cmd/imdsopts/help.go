package main

import (
	"flag"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// The help of a subcommand is made from the FlagSet it parses with: each
// flag's help is its usage string, written where the flag is registered.
// A usage string may begin with the flag's value in back quotes, as
// "`N` the hop limit": "--flag N" is then printed. What is written here by
// hand is about the subcommands, not about their flags: each one's synopsis
// and description, the headings its flags are grouped under, and what its
// output, statuses and exit status are.

// commandHelp is the hand-written part of a subcommand's help.
type commandHelp struct {
	// synopsis is the help's beginning: its usage lines and description.
	synopsis string
	// groups are the headings of the flags, in order. A flag in none is
	// listed under "Options:", before them.
	groups []flagGroup
	// notes follow the flags: the output, statuses, exit status.
	notes string
	// optionsTitle heads the flags in no group; "Options:" when empty.
	optionsTitle string
}

// flagGroup is a heading of a help and the flags under it: those that
// register registers, which the help learns by registering them on a
// FlagSet of its own.
type flagGroup struct {
	title    string
	register func(*flag.FlagSet)
	// note follows the group's flags.
	note string
	// names lists the flags by name only, in one paragraph after the
	// title: flags the subcommand accepts but another one describes.
	names bool
}

// Widths of the help: flag names in a column of flagColumn characters,
// their help wrapped at helpWidth.
const (
	flagColumn = 36
	helpWidth  = 100
)

// writeHelp writes the help of subcommand name, whose flags fs holds.
func writeHelp(w io.Writer, name string, fs *flag.FlagSet) error {
	h := helpOf(name)
	var b strings.Builder
	b.WriteString(strings.TrimRight(h.synopsis, "\n") + "\n")
	listed := map[string]bool{}
	// Aliases (-h and --help) share one Value: they are listed together.
	var all []*flag.Flag
	fs.VisitAll(func(fl *flag.Flag) { all = append(all, fl) })
	writeGroup := func(title string, names []string, g flagGroup) {
		var flags [][]*flag.Flag
		for _, n := range names {
			fl := fs.Lookup(n)
			if fl == nil || listed[n] {
				continue
			}
			var same []*flag.Flag
			for _, other := range all {
				if !listed[other.Name] && sameValue(other, fl) {
					same = append(same, other)
					listed[other.Name] = true
				}
			}
			flags = append(flags, same)
		}
		if len(flags) == 0 {
			return
		}
		b.WriteString("\n")
		wrap(&b, title, "", "")
		if g.names {
			var spelled []string
			for _, same := range flags {
				for _, fl := range same {
					spelled = append(spelled, flagName(fl))
				}
			}
			wrap(&b, strings.Join(spelled, ", "), "  ", "  ")
		} else {
			for _, same := range flags {
				writeFlag(&b, same)
			}
		}
		if g.note != "" {
			b.WriteString(strings.TrimRight(g.note, "\n") + "\n")
		}
	}
	var own []string
	grouped := map[string]bool{}
	groupNames := make([][]string, len(h.groups))
	for i, g := range h.groups {
		scratch := flag.NewFlagSet(name, flag.ContinueOnError)
		g.register(scratch)
		scratch.VisitAll(func(fl *flag.Flag) {
			groupNames[i] = append(groupNames[i], fl.Name)
			grouped[fl.Name] = true
		})
	}
	for _, fl := range all {
		if !grouped[fl.Name] {
			own = append(own, fl.Name)
		}
	}
	// Flags are listed by name, as VisitAll visits them.
	optionsTitle := h.optionsTitle
	if optionsTitle == "" {
		optionsTitle = "Options:"
	}
	writeGroup(optionsTitle, own, flagGroup{})
	for i, g := range h.groups {
		writeGroup(g.title, groupNames[i], g)
	}
	if h.notes != "" {
		b.WriteString("\n" + strings.TrimRight(h.notes, "\n") + "\n")
	}
	b.WriteString("\n" + exitCodeUsage)
	_, err := io.WriteString(w, b.String())
	return err
}

// sameValue reports whether a and b are one flag under two names.
func sameValue(a, b *flag.Flag) bool {
	if a == b {
		return true
	}
	ta, tb := reflect.TypeOf(a.Value), reflect.TypeOf(b.Value)
	return ta == tb && ta.Comparable() && a.Value == b.Value
}

// flagName spells a flag as the help does: -h, --help.
func flagName(fl *flag.Flag) string {
	if len(fl.Name) == 1 {
		return "-" + fl.Name
	}
	return "--" + fl.Name
}

// flagHelp splits a flag's usage string into the value it takes, from its
// leading back quotes, and its help.
func flagHelp(fl *flag.Flag) (value, help string) {
	u := fl.Usage
	if strings.HasPrefix(u, "`") {
		if end := strings.IndexByte(u[1:], '`'); end >= 0 {
			return u[1 : 1+end], strings.TrimSpace(u[2+end:])
		}
	}
	return "", u
}

// writeFlag writes one flag, under all its names, and its help.
func writeFlag(b *strings.Builder, names []*flag.Flag) {
	var spelled []string
	for _, fl := range names {
		spelled = append(spelled, flagName(fl))
	}
	value, help := flagHelp(names[len(names)-1])
	head := "  " + strings.Join(spelled, ", ")
	if value != "" {
		head += " " + value
	}
	indent := strings.Repeat(" ", flagColumn)
	if len(head) >= flagColumn-1 {
		b.WriteString(head + "\n")
		wrap(b, help, indent, indent)
		return
	}
	wrap(b, help, head+strings.Repeat(" ", flagColumn-len(head)), indent)
}

// wrap writes text in lines of at most helpWidth characters where it can,
// the first beginning with first, the others with indent.
func wrap(b *strings.Builder, text, first, indent string) {
	line := first
	empty := true
	for _, word := range strings.Fields(text) {
		if !empty && len(line)+1+len(word) > helpWidth {
			b.WriteString(line + "\n")
			line, empty = indent, true
		}
		if !empty {
			line += " "
		}
		line += word
		empty = false
	}
	b.WriteString(strings.TrimRight(line, " ") + "\n")
}

// printHelp prints the help of subcommand name.
func (a *app) printHelp(name string, fs *flag.FlagSet) error {
	if a.onHelp != nil {
		a.onHelp(name, fs)
	}
	if err := writeHelp(a.stdout, name, fs); err != nil {
		return fmt.Errorf("writing the help: %w", err)
	}
	return nil
}
