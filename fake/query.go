package fake

import (
	"encoding/base64"
	"fmt"
	"math"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// queryStyle is the flavour of the AWS Query protocol a service speaks.
type queryStyle int

const (
	// ec2Query is EC2's: lists are flattened (InstanceId.1, Filter.1.Value.1),
	// members have EC2's query names, and answers list items as <item>
	// inside elements with EC2's lowerCamel names.
	ec2Query queryStyle = iota
	// awsQuery is CloudWatch's and Auto Scaling's: lists are
	// Name.member.1, and answers use the member names, list items as
	// <member>.
	awsQuery
)

// queryKey returns the name of member m of structure t in a request.
func (s queryStyle) queryKey(t reflect.Type, m member) string {
	if s == ec2Query {
		if n := ec2NameOf(t.Name() + "." + m.name); n.query != "" {
			return n.query
		}
	} else if n := awsQueryNameOf(t, m); n.query != "" {
		return n.query
	}
	return m.name
}

// queryItem returns the segment that precedes the index of each item of
// list member m of structure t in a request: none for EC2, whose lists
// are flat (Name.N), "member" (Name.member.N) for the AWS Query services
// unless their model names it otherwise.
func (s queryStyle) queryItem(t reflect.Type, m member) string {
	if s == ec2Query {
		return ""
	}
	if n := awsQueryNameOf(t, m); n.queryItem != "" {
		return n.queryItem
	}
	return "member"
}

// xmlName returns the element name of member m of structure t in an answer.
func (s queryStyle) xmlName(t reflect.Type, m member) string {
	if s == ec2Query {
		if n := ec2NameOf(t.Name() + "." + m.name); n.xml != "" {
			return n.xml
		}
		return lowerFirst(m.name)
	}
	if n := awsQueryNameOf(t, m); n.xml != "" {
		return n.xml
	}
	return m.name
}

// itemName returns the element name of the items of list member m of
// structure t in an answer.
func (s queryStyle) itemName(t reflect.Type, m member) string {
	if s == ec2Query {
		if n := ec2NameOf(t.Name() + "." + m.name); n.item != "" {
			return n.item
		}
		return "item"
	}
	if n := awsQueryNameOf(t, m); n.item != "" {
		return n.item
	}
	return "member"
}

// queryName holds the names of one member of an AWS Query service where
// they differ from the default rules: query (the request parameter;
// default the member name), queryItem (the segment before the index of a
// list's items in a request; default "member"), xml (the answer's element;
// default the member name) and item (the element of each item of a list in
// an answer; default "member").
type queryName struct{ query, queryItem, xml, item string }

// awsQueryNames are the names of the members of the AWS Query services
// served (CloudWatch, Auto Scaling, STS) that differ from the default
// rules, keyed by SDK package, type and field, as the services' API models
// spell them. TestE2EQueryNamesMatchModel checks them.
var awsQueryNames = map[string]queryName{
	"autoscaling/types.CpuPerformanceFactorRequest.References": {query: "Reference", queryItem: "item", xml: "Reference", item: "item"},
	"sts/types.PolicyDescriptorType.Arn":                       {query: "arn", xml: "arn"},
}

// sdkServicePath is the import path under which the SDK's service packages
// live.
const sdkServicePath = "github.com/aws/aws-sdk-go-v2/service/"

func awsQueryNameOf(t reflect.Type, m member) queryName {
	return awsQueryNames[strings.TrimPrefix(t.PkgPath(), sdkServicePath)+"."+t.Name()+"."+m.name]
}

// codedMember is a member of a structure with its names in a style.
type codedMember struct {
	member
	query, queryItem, xml, item string
}

type codedKey struct {
	style queryStyle
	t     reflect.Type
}

var codedMembers sync.Map // codedKey → []codedMember

// members returns the members of structure t with their names in style s,
// computed once per type.
func (s queryStyle) members(t reflect.Type) []codedMember {
	k := codedKey{s, t}
	if c, ok := codedMembers.Load(k); ok {
		return c.([]codedMember)
	}
	ms := members(t)
	cs := make([]codedMember, len(ms))
	for i, m := range ms {
		cs[i] = codedMember{member: m, query: s.queryKey(t, m), queryItem: s.queryItem(t, m), xml: s.xmlName(t, m), item: s.itemName(t, m)}
	}
	c, _ := codedMembers.LoadOrStore(k, cs)
	return c.([]codedMember)
}

// Limits of the query decoder. Bodies are bounded by
// HandlerOptions.MaxBodyBytes; these bound what a bounded body can ask for.
const (
	maxListIndex  = 100000 // the largest N of Name.N
	maxQueryDepth = 16     // the most dot-separated segments in a key
)

// protocolError is a request the handler refuses before any operation runs:
// a malformed form, an unknown parameter, a value of the wrong type.
type protocolError struct {
	status        int
	code, message string
}

func (e *protocolError) Error() string { return e.code + ": " + e.message }

func badParam(code, format string, args ...any) *protocolError {
	return &protocolError{status: 400, code: code, message: fmt.Sprintf(format, args...)}
}

// queryNode is one segment of the keys of a query request: Filter.1.Name is
// the node Name under the node 1 under the node Filter.
type queryNode struct {
	key      string // the full key up to here, for messages
	value    string
	hasValue bool
	used     bool
	kids     map[string]*queryNode
}

func (n *queryNode) kid(seg string) *queryNode {
	if n == nil {
		return nil
	}
	return n.kids[seg]
}

// parseQuery turns the parameters of a query request into a tree of
// nodes. A parameter given twice is refused.
func parseQuery(values url.Values) (*queryNode, error) {
	root := &queryNode{}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		vs := values[k]
		if len(vs) > 1 {
			return nil, badParam(codeInvalidParameterValue, "The parameter %s is given %d times; it may be given once.", quoteParam(k), len(vs))
		}
		segs := strings.Split(k, ".")
		if len(segs) > maxQueryDepth {
			return nil, badParam(codeUnknownParameter, "The parameter %s is not recognized.", quoteParam(k))
		}
		n := root
		for i, s := range segs {
			if n.kids == nil {
				n.kids = make(map[string]*queryNode)
			}
			next := n.kids[s]
			if next == nil {
				next = &queryNode{key: strings.Join(segs[:i+1], ".")}
				n.kids[s] = next
			}
			n = next
		}
		n.value, n.hasValue = vs[0], true
	}
	return root, nil
}

// unused returns the first parameter, in key order, that decoding did not
// read.
func (n *queryNode) unused() string {
	if n.hasValue && !n.used {
		return n.key
	}
	keys := make([]string, 0, len(n.kids))
	for k := range n.kids {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if u := n.kids[k].unused(); u != "" {
			return u
		}
	}
	return ""
}

// take returns the value of the top-level parameter name and marks it read.
func (n *queryNode) take(name string) (string, bool) {
	k := n.kid(name)
	if k == nil || !k.hasValue {
		return "", false
	}
	k.used = true
	return k.value, true
}

// authParameters are the parameters of signed query requests (presigned URLs
// and signature version 2); signatures are not verified, so they are read
// and ignored.
var authParameters = []string{
	"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders",
	"X-Amz-Signature", "X-Amz-Security-Token", "AWSAccessKeyId", "SignatureVersion", "SignatureMethod",
	"Signature", "Timestamp", "Expires", "SecurityToken",
}

// decodeQuery fills the input structure in (a pointer) from the request's
// parameters in the style of the service, and refuses any parameter it does
// not read: EC2 answers UnknownParameter for those.
func decodeQuery(style queryStyle, root *queryNode, in reflect.Value) error {
	for _, p := range authParameters {
		root.take(p)
	}
	d := queryDecoder{style: style}
	if err := d.structure(root, in.Elem()); err != nil {
		return err
	}
	if k := root.unused(); k != "" {
		return badParam(codeUnknownParameter, "The parameter %s is not recognized.", quoteParam(k))
	}
	return nil
}

type queryDecoder struct{ style queryStyle }

func (d queryDecoder) structure(n *queryNode, v reflect.Value) error {
	for _, m := range d.style.members(v.Type()) {
		k := n.kid(m.query)
		if k == nil {
			continue
		}
		if err := d.value(k, v.Field(m.index), m.queryItem); err != nil {
			return err
		}
	}
	return nil
}

// value decodes the parameters at n into v; item is the segment before
// the index of list items (see queryStyle.queryItem), when v is a list.
func (d queryDecoder) value(n *queryNode, v reflect.Value, item string) error {
	t := v.Type()
	switch {
	case t.Kind() == reflect.Pointer:
		p := reflect.New(t.Elem())
		if err := d.value(n, p.Elem(), item); err != nil {
			return err
		}
		if !n.empty() {
			v.Set(p)
		}
		return nil
	case isStruct(t):
		return d.structure(n, v)
	case isList(t):
		return d.list(n, v, item)
	}
	if !n.hasValue {
		return nil // only deeper keys: left unread, refused as unknown
	}
	n.used = true
	return setScalar(v, n.value, n.key)
}

// empty reports whether no parameter at or under n was read.
func (n *queryNode) empty() bool {
	if n.used {
		return false
	}
	for _, k := range n.kids {
		if !k.empty() {
			return false
		}
	}
	return true
}

func (d queryDecoder) list(n *queryNode, v reflect.Value, itemSeg string) error {
	items := n
	if itemSeg != "" {
		if n.hasValue && n.value == "" && len(n.kids) == 0 {
			n.used = true // Name= is an empty list
			v.Set(reflect.MakeSlice(v.Type(), 0, 0))
			return nil
		}
		items = n.kid(itemSeg)
		if items == nil {
			return nil
		}
	}
	type item struct {
		index int
		node  *queryNode
	}
	var found []item
	for seg, k := range items.kids {
		i, ok := listIndex(seg)
		if !ok {
			continue // left unread, refused as unknown
		}
		found = append(found, item{i, k})
	}
	if len(found) == 0 {
		return nil
	}
	slices.SortFunc(found, func(a, b item) int { return a.index - b.index })
	s := reflect.MakeSlice(v.Type(), len(found), len(found))
	nested := "" // a list of lists: the items' own lists take the default
	if d.style == awsQuery {
		nested = "member"
	}
	for i, it := range found {
		if err := d.value(it.node, s.Index(i), nested); err != nil {
			return err
		}
	}
	v.Set(s)
	return nil
}

// listIndex parses the N of Name.N: a decimal number from 1 to
// maxListIndex without sign or leading zeros.
func listIndex(s string) (int, bool) {
	if s == "" || len(s) > 6 || s[0] == '0' {
		return 0, false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	i, err := strconv.Atoi(s)
	return i, err == nil && i <= maxListIndex
}

// setScalar parses s, the value of parameter name, into v.
func setScalar(v reflect.Value, s, name string) error {
	bad := func(want string) error {
		return badParam(codeInvalidParameterValue, "Value (%s) for parameter %s is invalid. Expected %s.", quoteValue(s), quoteParam(name), want)
	}
	t := v.Type()
	switch {
	case t == timeType:
		tm, err := parseTimestamp(s)
		if err != nil {
			return bad("a timestamp such as 2006-01-02T15:04:05Z")
		}
		v.Set(reflect.ValueOf(tm))
		return nil
	case t == bytesType:
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return bad("base64")
		}
		v.SetBytes(b)
		return nil
	}
	switch t.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		switch strings.ToLower(s) {
		case "true":
			v.SetBool(true)
		case "false":
			v.SetBool(false)
		default:
			return bad("true or false")
		}
	case reflect.Int32, reflect.Int64, reflect.Int:
		n, err := strconv.ParseInt(s, 10, t.Bits())
		if err != nil {
			return bad(fmt.Sprintf("an integer of %d bits", t.Bits()))
		}
		v.SetInt(n)
	case reflect.Float32, reflect.Float64:
		f, err := parseFloat(s, t.Bits())
		if err != nil {
			return bad("a number")
		}
		v.SetFloat(f)
	default:
		return bad("a value of another type")
	}
	return nil
}

// parseTimestamp reads an ISO 8601 date-time (the query protocols' format)
// or a number of seconds since the epoch.
func parseTimestamp(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e11 {
		return time.Time{}, fmt.Errorf("not a timestamp: %q", s)
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
}

// parseFloat reads a number, including NaN, Infinity and -Infinity as the
// AWS protocols spell them.
func parseFloat(s string, bits int) (float64, error) {
	switch s {
	case "NaN":
		return math.NaN(), nil
	case "Infinity":
		return math.Inf(1), nil
	case "-Infinity":
		return math.Inf(-1), nil
	}
	if strings.ContainsAny(s, "iInN") { // no "inf" or "nan" spelled otherwise
		return 0, fmt.Errorf("not a number: %q", s)
	}
	return strconv.ParseFloat(s, bits)
}

// Echoed names and values are cut to a short prefix and quoted, so that a
// huge or hostile parameter cannot flood an answer or a log.
const maxEcho = 64

func quoteParam(s string) string { return echo(s) }

func quoteValue(s string) string { return echo(s) }

func echo(s string) string {
	if len(s) > maxEcho {
		s = fmt.Sprintf("%s... (%d bytes)", strings.ToValidUTF8(s[:maxEcho], ""), len(s))
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, strings.ToValidUTF8(s, "?"))
}
