package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// List parameters take their values as the AWS CLI does: several arguments
// after one flag (--instance-ids i-1 i-2), up to the next argument that
// starts with "-". expandListArgs rewrites them as one --name=VALUE argument
// each, for the flag package; the flag may also be repeated. fs must know
// every flag of the subcommand, global ones included, so that the value of
// any other flag is passed on untouched.
func expandListArgs(fs *flag.FlagSet, args []string, lists map[string]bool) ([]string, error) {
	var out []string
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			return append(out, args[i:]...), nil
		}
		if !isOptionArg(arg) {
			out = append(out, arg)
			continue
		}
		name, _, hasValue := strings.Cut(strings.TrimPrefix(arg[1:], "-"), "=")
		switch {
		case lists[name] && !hasValue:
			j := i + 1
			for ; j < len(args) && !isOptionArg(args[j]); j++ {
				out = append(out, "--"+name+"="+args[j])
			}
			if j == i+1 {
				return nil, usageErrorf("flag needs an argument: --%s", name)
			}
			i = j - 1
		case hasValue:
			out = append(out, arg)
		default:
			out = append(out, arg)
			if fl := fs.Lookup(name); fl != nil && !isBoolFlag(fl) && i+1 < len(args) {
				out = append(out, args[i+1])
				i++
			}
		}
	}
	return out, nil
}

// isOptionArg reports whether arg is a flag rather than a value.
func isOptionArg(arg string) bool { return len(arg) > 1 && arg[0] == '-' }

func isBoolFlag(fl *flag.Flag) bool {
	b, ok := fl.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// parseInstanceIDs parses one argument of --instance-ids: an ID, several
// separated by commas, or a JSON list of strings.
func parseInstanceIDs(s string) ([]string, error) {
	if strings.HasPrefix(strings.TrimSpace(s), "[") {
		var ids []string
		if err := json.Unmarshal([]byte(s), &ids); err != nil {
			return nil, fmt.Errorf("invalid JSON list of instance IDs: %v", err)
		}
		return ids, nil
	}
	ids := strings.Split(s, ",")
	for i := range ids {
		ids[i] = strings.TrimSpace(ids[i])
	}
	return ids, nil
}

// parseTag parses one argument of --tags: KEY=VALUE, split at the first
// "=" (the value may hold more; it may be empty, the key may not).
func parseTag(s string) (key, value string, err error) {
	key, value, ok := strings.Cut(s, "=")
	if !ok || key == "" {
		return "", "", errors.New("must be KEY=VALUE")
	}
	return key, value, nil
}

// jsonFilter is a filter in the AWS CLI's JSON form.
type jsonFilter struct {
	Name   *string  `json:"Name"`
	Values []string `json:"Values"`
}

// parseFilters parses one argument of --filters, as the AWS CLI takes it
// for DescribeInstances: the shorthand Name=NAME,Values=V1,V2 (one filter),
// a JSON object {"Name": ..., "Values": [...]}, or a JSON list of them.
// Every filter needs a Name and at least one value.
func parseFilters(s string) ([]types.Filter, error) {
	var in []jsonFilter
	switch t := strings.TrimSpace(s); {
	case strings.HasPrefix(t, "["), strings.HasPrefix(t, "{"):
		dec := json.NewDecoder(strings.NewReader(t))
		dec.DisallowUnknownFields()
		var err error
		if t[0] == '[' {
			err = dec.Decode(&in)
		} else {
			var one jsonFilter
			err = dec.Decode(&one)
			in = []jsonFilter{one}
		}
		if err == nil && dec.More() {
			err = errors.New("more than one value")
		}
		if err != nil {
			return nil, fmt.Errorf("invalid JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
		}
	default:
		kv, err := parseShorthand(s)
		if err != nil {
			return nil, err
		}
		var f jsonFilter
		for _, p := range kv {
			switch p.key {
			case "Name":
				if p.list != nil {
					return nil, errors.New("the Name member must be one string, not a list")
				}
				f.Name = aws.String(p.value)
			case "Values":
				if p.list != nil {
					f.Values = p.list
				} else {
					f.Values = []string{p.value}
				}
			default:
				return nil, fmt.Errorf("unknown parameter %q, must be one of: Name, Values", p.key)
			}
		}
		in = []jsonFilter{f}
	}
	if len(in) == 0 {
		return nil, errors.New("no filter in the list")
	}
	out := make([]types.Filter, 0, len(in))
	for _, f := range in {
		switch {
		case f.Name == nil || *f.Name == "":
			return nil, errors.New("missing Name")
		case len(f.Values) == 0:
			return nil, fmt.Errorf("filter %s: missing Values", *f.Name)
		}
		out = append(out, types.Filter{Name: f.Name, Values: f.Values})
	}
	return out, nil
}

// shorthandParam is one KEY=VALUE of the shorthand syntax: a value, or a
// list (non-nil) when the value had commas or brackets.
type shorthandParam struct {
	key   string
	value string
	list  []string
}

// parseShorthand parses the AWS CLI's shorthand syntax for a structure of
// scalars and lists of scalars: KEY=VALUE pairs separated by commas. A
// value is a list when written [A,B] or A,B: the commas after a value
// continue the list until what follows looks like the next KEY=. Values may
// be quoted with ' or " (then they may hold commas); a backslash takes the
// next character literally. Blanks around keys and unquoted values are
// dropped.
func parseShorthand(s string) ([]shorthandParam, error) {
	p := &shorthandParser{s: s}
	var params []shorthandParam
	seen := map[string]bool{}
	for {
		key, err := p.key()
		if err != nil {
			return nil, err
		}
		if seen[key] {
			return nil, fmt.Errorf("%s given twice", key)
		}
		seen[key] = true
		param := shorthandParam{key: key}
		p.blanks()
		if p.peek() == '[' {
			if param.list, err = p.explicitList(); err != nil {
				return nil, err
			}
		} else {
			first, err := p.scalar(",")
			if err != nil {
				return nil, err
			}
			param.value = first
			for p.peek() == ',' && !p.atKey(p.i+1) {
				p.i++
				v, err := p.scalar(",")
				if err != nil {
					return nil, err
				}
				if param.list == nil {
					param.list = []string{first}
				}
				param.list = append(param.list, v)
			}
		}
		params = append(params, param)
		p.blanks()
		switch {
		case p.i == len(s):
			return params, nil
		case s[p.i] == ',':
			p.i++
		default:
			return nil, p.errorf("expected \",\" or the end")
		}
	}
}

type shorthandParser struct {
	s string
	i int
}

const noByte = -1

func (p *shorthandParser) peek() int {
	if p.i < len(p.s) {
		return int(p.s[p.i])
	}
	return noByte
}

func (p *shorthandParser) blanks() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

func (p *shorthandParser) errorf(format string, args ...any) error {
	return fmt.Errorf("shorthand at character %d: %s (Name=NAME,Values=V1,V2)", p.i+1, fmt.Sprintf(format, args...))
}

func isKeyByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_-.:/#", c) >= 0
}

// atKey reports whether a KEY= starts at i (after blanks).
func (p *shorthandParser) atKey(i int) bool {
	for i < len(p.s) && (p.s[i] == ' ' || p.s[i] == '\t') {
		i++
	}
	j := i
	for j < len(p.s) && isKeyByte(p.s[j]) {
		j++
	}
	for j < len(p.s) && (p.s[j] == ' ' || p.s[j] == '\t') {
		j++
	}
	return j > i && j < len(p.s) && p.s[j] == '='
}

// key parses KEY and the "=" after it.
func (p *shorthandParser) key() (string, error) {
	p.blanks()
	start := p.i
	for p.i < len(p.s) && isKeyByte(p.s[p.i]) {
		p.i++
	}
	key := p.s[start:p.i]
	p.blanks()
	if key == "" || p.peek() != '=' {
		return "", p.errorf("expected KEY=VALUE")
	}
	p.i++
	return key, nil
}

// scalar parses one value: quoted, or up to the next unescaped byte of
// stops. An unquoted value may hold "=": after a comma, parseShorthand has
// already taken a KEY= for the next pair, not for a value.
func (p *shorthandParser) scalar(stops string) (string, error) {
	p.blanks()
	if c := p.peek(); c == '"' || c == '\'' {
		return p.quoted(byte(c))
	}
	var b bytes.Buffer
	end := 0 // length of b without trailing blanks
	for p.i < len(p.s) && strings.IndexByte(stops, p.s[p.i]) < 0 {
		c := p.s[p.i]
		if c == '\\' && p.i+1 < len(p.s) {
			p.i++
			c = p.s[p.i]
			b.WriteByte(c)
			end = b.Len()
			p.i++
			continue
		}
		b.WriteByte(c)
		if c != ' ' && c != '\t' {
			end = b.Len()
		}
		p.i++
	}
	return string(b.Bytes()[:end]), nil
}

// quoted parses a value in quotes q; a backslash escapes the next byte.
func (p *shorthandParser) quoted(q byte) (string, error) {
	start := p.i
	p.i++
	var b bytes.Buffer
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '\\' && p.i+1 < len(p.s):
			b.WriteByte(p.s[p.i+1])
			p.i += 2
		case c == q:
			p.i++
			p.blanks()
			return b.String(), nil
		default:
			b.WriteByte(c)
			p.i++
		}
	}
	p.i = start
	return "", p.errorf("unterminated quote %c", q)
}

// explicitList parses [A,B,...]; [] is an empty list.
func (p *shorthandParser) explicitList() ([]string, error) {
	p.i++ // [
	list := []string{}
	p.blanks()
	if p.peek() == ']' {
		p.i++
		return list, nil
	}
	for {
		v, err := p.scalar(",]")
		if err != nil {
			return nil, err
		}
		list = append(list, v)
		switch p.peek() {
		case ',':
			p.i++
		case ']':
			p.i++
			return list, nil
		default:
			return nil, p.errorf("expected \",\" or \"]\"")
		}
	}
}
