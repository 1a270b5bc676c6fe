package fake

import (
	"reflect"
	"strings"
	"sync"
	"time"
)

// The wire codecs of the handler (query.go, xml.go, document.go) walk the
// SDK's input and output structures by reflection, so that every member of
// every operation is (de)serialized by one set of rules per protocol. The
// SDK's Go names are the API's member names; where a protocol spells a member
// differently, the protocol's naming says so (ec2names.go for EC2).

// member is one field of an SDK structure that is part of the API.
type member struct {
	name  string // the Go field name, which is the API's member name
	index int
	typ   reflect.Type
}

var (
	timeType  = reflect.TypeFor[time.Time]()
	bytesType = reflect.TypeFor[[]byte]()
	membersOf sync.Map // reflect.Type → []member
)

// members returns the API members of the struct type t: its exported fields
// of a kind the codecs know, without the SDK's ResultMetadata.
func members(t reflect.Type) []member {
	if m, ok := membersOf.Load(t); ok {
		return m.([]member)
	}
	var ms []member
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() || f.Name == "ResultMetadata" || !codable(f.Type, 0) {
			continue
		}
		ms = append(ms, member{name: f.Name, index: i, typ: f.Type})
	}
	m, _ := membersOf.LoadOrStore(t, ms)
	return m.([]member)
}

// codable reports whether the codecs can carry values of type t: strings
// (enumerations included), booleans, integers, floats, timestamps, blobs,
// structures, and pointers to and lists of those. Maps, unions and documents
// are not used by the operations served and are left out.
func codable(t reflect.Type, depth int) bool {
	if depth > 8 {
		return false
	}
	switch t.Kind() {
	case reflect.Pointer:
		return codable(t.Elem(), depth+1)
	case reflect.String, reflect.Bool, reflect.Int32, reflect.Int64, reflect.Int, reflect.Float32, reflect.Float64:
		return true
	case reflect.Struct:
		return true
	case reflect.Slice:
		return t == bytesType || codable(t.Elem(), depth+1)
	}
	return false
}

// isStruct reports whether t is an SDK structure (not a timestamp).
func isStruct(t reflect.Type) bool { return t.Kind() == reflect.Struct && t != timeType }

// isList reports whether t is a list (not a blob).
func isList(t reflect.Type) bool { return t.Kind() == reflect.Slice && t != bytesType }

// lowerFirst returns s with its first letter in lower case.
func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}
