package awscli

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts/internal/check"
)

// ExpandListArgs rewrites the arguments of list parameters for the flag
// package. The AWS CLI takes several values after one flag (--instance-ids
// i-1 i-2), up to the next argument that starts with "-"; ExpandListArgs
// turns each into one --name=VALUE argument, so that a flag.Value whose Set
// appends takes them all, and the flag may also be repeated. lists holds the
// names of the list flags, without dashes. fs must know every flag the
// arguments may hold, so that the value of any other flag is passed on
// untouched, even when it looks like a list flag. Arguments after "--" are
// left as they are. A list flag without a value is an error.
func ExpandListArgs(fs *flag.FlagSet, args []string, lists map[string]bool) ([]string, error) {
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
				return nil, fmt.Errorf("flag needs an argument: --%s", name)
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

// filterInput is a filter in the AWS CLI's JSON form.
type filterInput struct {
	Name   *string  `json:"Name"`
	Values []string `json:"Values"`
}

// ParseFilters parses one argument of a --filters parameter as the AWS CLI
// takes it for the EC2 Describe operations: the shorthand
// Name=NAME,Values=V1,V2 (one filter), a JSON object {"Name": ...,
// "Values": [...]}, or a JSON list of them, decoded as DecodeInput does.
// Every filter needs a Name and at least one value.
func ParseFilters(s string) ([]types.Filter, error) {
	var in []filterInput
	switch t := strings.TrimSpace(s); {
	case strings.HasPrefix(t, "["):
		if err := DecodeInput([]byte(t), &in); err != nil {
			return nil, err
		}
	case strings.HasPrefix(t, "{"):
		var one filterInput
		if err := DecodeInput([]byte(t), &one); err != nil {
			return nil, err
		}
		in = []filterInput{one}
	default:
		params, err := ParseShorthand(s)
		if err != nil {
			return nil, fmt.Errorf("%w (Name=NAME,Values=V1,V2)", err)
		}
		var f filterInput
		for _, p := range params {
			switch p.Key {
			case "Name":
				if p.List != nil {
					return nil, errors.New("the Name member must be one string, not a list")
				}
				f.Name = aws.String(p.Value)
			case "Values":
				if p.List != nil {
					f.Values = p.List
				} else {
					f.Values = []string{p.Value}
				}
			default:
				return nil, fmt.Errorf("unknown parameter %s, must be one of: Name, Values", check.Quote(p.Key))
			}
		}
		in = []filterInput{f}
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
			return nil, fmt.Errorf("filter %s: missing Values", check.Quote(*f.Name))
		}
		out = append(out, types.Filter{Name: f.Name, Values: f.Values})
	}
	return out, nil
}

// Param is one KEY=VALUE of the shorthand syntax.
type Param struct {
	Key string
	// Value is the value when it is a single one.
	Value string
	// List holds the values when the value is a list ([A,B] or A,B); it is
	// nil otherwise, and empty, not nil, for [].
	List []string
}

// ParseShorthand parses the AWS CLI's shorthand syntax for a structure of
// scalars and lists of scalars: KEY=VALUE pairs separated by commas, in the
// order given; a key given twice is an error. A value is a list when written
// [A,B] or A,B: the commas after a value continue the list until what
// follows looks like the next KEY=. Values may be quoted with ' or " (then
// they may hold commas); a backslash takes the next character literally.
// Blanks around keys and unquoted values are dropped. Keys are made of
// letters, digits and _-.:/#.
func ParseShorthand(s string) ([]Param, error) {
	p := &shorthandParser{s: s}
	var params []Param
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
		param := Param{Key: key}
		p.blanks()
		if p.peek() == '[' {
			if param.List, err = p.explicitList(); err != nil {
				return nil, err
			}
		} else {
			first, err := p.scalar(",")
			if err != nil {
				return nil, err
			}
			param.Value = first
			for p.peek() == ',' && !p.atKey(p.i+1) {
				p.i++
				v, err := p.scalar(",")
				if err != nil {
					return nil, err
				}
				if param.List == nil {
					param.List = []string{first}
				}
				param.List = append(param.List, v)
			}
			if param.List != nil {
				param.Value = ""
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
	return fmt.Errorf("shorthand at character %d: %s", p.i+1, fmt.Sprintf(format, args...))
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
