package fake

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// The JSON (awsJson1_0) and Smithy RPC v2 CBOR protocols carry a structure
// as a map from member names to values. toDocument and fromDocument convert
// between SDK structures and such generic values (map[string]any, []any,
// string, bool, numbers, time.Time, []byte); encoding/json and
// fxamacker/cbor do the bytes.

// docFormat is a document protocol.
type docFormat int

const (
	jsonDoc docFormat = iota
	cborDoc
)

// Limits of decoded documents: bodies are bounded by
// HandlerOptions.MaxBodyBytes; these bound nesting and sizes.
const maxDocDepth = 32

var (
	cborEnc = func() cbor.EncMode {
		m, err := cbor.EncOptions{
			Time:    cbor.TimeUnixDynamic, // seconds, with a fraction when there is one
			TimeTag: cbor.EncTagRequired,  // tag 1, as Smithy RPC v2 CBOR writes timestamps
		}.EncMode()
		if err != nil {
			panic(err) // constant options
		}
		return m
	}()
	cborDec = func() cbor.DecMode {
		m, err := cbor.DecOptions{
			DupMapKey:        cbor.DupMapKeyEnforcedAPF,
			MaxNestedLevels:  maxDocDepth,
			DefaultMapType:   reflect.TypeFor[map[string]any](),
			TimeTag:          cbor.DecTagOptional,
			IndefLength:      cbor.IndefLengthAllowed,
			MaxArrayElements: 1 << 17,
			MaxMapPairs:      1 << 17,
		}.DecMode()
		if err != nil {
			panic(err) // constant options
		}
		return m
	}()
)

// marshalDocument writes the structure out points to (nil for none) in
// format f.
func marshalDocument(f docFormat, out reflect.Value) ([]byte, error) {
	doc := map[string]any{}
	if out.IsValid() && !out.IsNil() {
		doc = toDocument(f, out.Elem()).(map[string]any)
	}
	return encodeDocument(f, doc)
}

func encodeDocument(f docFormat, doc any) ([]byte, error) {
	if f == cborDoc {
		return cborEnc.Marshal(doc)
	}
	return json.Marshal(doc)
}

// toDocument converts v into a generic value; absent members (nil pointers
// and lists, empty enumerations) are left out of structures.
func toDocument(f docFormat, v reflect.Value) any {
	t := v.Type()
	switch {
	case t.Kind() == reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		return toDocument(f, v.Elem())
	case isStruct(t):
		m := map[string]any{}
		for _, mb := range members(t) {
			if d := toDocument(f, v.Field(mb.index)); d != nil {
				m[mb.name] = d
			}
		}
		return m
	case isList(t):
		if v.IsNil() {
			return nil
		}
		l := make([]any, v.Len())
		for i := range l {
			l[i] = toDocument(f, v.Index(i))
		}
		return l
	case t == timeType:
		tm := v.Interface().(time.Time)
		if f == cborDoc {
			return tm.UTC()
		}
		return json.Number(strconv.FormatFloat(float64(tm.UnixMilli())/1000, 'f', -1, 64))
	case t == bytesType:
		if v.IsNil() {
			return nil
		}
		if f == cborDoc {
			return v.Bytes()
		}
		return base64.StdEncoding.EncodeToString(v.Bytes())
	}
	switch t.Kind() {
	case reflect.String:
		if v.Len() == 0 {
			return nil
		}
		return v.String()
	case reflect.Bool:
		return v.Bool()
	case reflect.Int32, reflect.Int64, reflect.Int:
		return v.Int()
	case reflect.Float32, reflect.Float64:
		x := v.Float()
		if f == jsonDoc {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return formatFloat(x, 64) // JSON has no NaN: the AWS protocols send a string
			}
			// A double keeps its decimal point (7.0, not 7), as the
			// services write it and as clients tell a double by.
			s := strconv.FormatFloat(x, 'g', -1, 64)
			if !strings.ContainsAny(s, ".eE") {
				s += ".0"
			}
			return json.Number(s)
		}
		return x
	}
	return nil
}

// unmarshalDocument reads a request body in format f into the structure in
// points to. An empty body is an empty structure.
func unmarshalDocument(f docFormat, body []byte, in reflect.Value) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	var doc any
	if f == cborDoc {
		if err := cborDec.Unmarshal(body, &doc); err != nil {
			return serializationError("the body is not valid CBOR: %v", err)
		}
	} else {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(&doc); err != nil {
			return serializationError("the body is not valid JSON: %v", err)
		}
		if dec.More() {
			return serializationError("the body holds more than one JSON value")
		}
	}
	if doc == nil {
		return nil
	}
	return fromDocument(doc, in.Elem(), "", 0)
}

func serializationError(format string, args ...any) *protocolError {
	return &protocolError{status: 400, code: codeSerialization, message: echo(fmt.Sprintf(format, args...))}
}

// fromDocument fills v from the generic value doc read at path. Members the
// structure does not have are ignored, as the document protocols allow.
func fromDocument(doc any, v reflect.Value, path string, depth int) error {
	if depth > maxDocDepth {
		return serializationError("%s: nested too deeply", path)
	}
	t := v.Type()
	wrong := func(want string) error {
		return serializationError("%s: expected %s, got %s", orTop(path), want, docKind(doc))
	}
	if doc == nil {
		return nil // null is an absent member
	}
	switch {
	case t.Kind() == reflect.Pointer:
		p := reflect.New(t.Elem())
		if err := fromDocument(doc, p.Elem(), path, depth+1); err != nil {
			return err
		}
		v.Set(p)
		return nil
	case isStruct(t):
		m, ok := doc.(map[string]any)
		if !ok {
			return wrong("a structure")
		}
		for _, mb := range members(t) {
			if d, ok := m[mb.name]; ok {
				if err := fromDocument(d, v.Field(mb.index), joinPath(path, mb.name), depth+1); err != nil {
					return err
				}
			}
		}
		return nil
	case isList(t):
		l, ok := doc.([]any)
		if !ok {
			return wrong("a list")
		}
		s := reflect.MakeSlice(t, len(l), len(l))
		for i, d := range l {
			if err := fromDocument(d, s.Index(i), fmt.Sprintf("%s[%d]", path, i), depth+1); err != nil {
				return err
			}
		}
		v.Set(s)
		return nil
	case t == timeType:
		tm, ok := docTime(doc)
		if !ok {
			return wrong("a timestamp (seconds since the epoch)")
		}
		v.Set(reflect.ValueOf(tm))
		return nil
	case t == bytesType:
		switch d := doc.(type) {
		case []byte:
			v.SetBytes(bytes.Clone(d))
		case string:
			b, err := base64.StdEncoding.DecodeString(d)
			if err != nil {
				return wrong("base64")
			}
			v.SetBytes(b)
		default:
			return wrong("a blob")
		}
		return nil
	}
	switch t.Kind() {
	case reflect.String:
		s, ok := doc.(string)
		if !ok {
			return wrong("a string")
		}
		v.SetString(s)
	case reflect.Bool:
		b, ok := doc.(bool)
		if !ok {
			return wrong("a boolean")
		}
		v.SetBool(b)
	case reflect.Int32, reflect.Int64, reflect.Int:
		n, ok := docInt(doc)
		if !ok || v.OverflowInt(n) {
			return wrong(fmt.Sprintf("an integer of %d bits", t.Bits()))
		}
		v.SetInt(n)
	case reflect.Float32, reflect.Float64:
		x, ok := docFloat(doc)
		if !ok {
			return wrong("a number")
		}
		v.SetFloat(x)
	default:
		return wrong("a value of another type")
	}
	return nil
}

func orTop(path string) string {
	if path == "" {
		return "the body"
	}
	return path
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func docKind(doc any) string {
	switch doc.(type) {
	case map[string]any:
		return "a structure"
	case []any:
		return "a list"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case time.Time, cbor.Tag, cbor.RawTag:
		return "a tagged value"
	}
	return "a number"
}

// docInt reads an integer of a JSON or CBOR document.
func docInt(doc any) (int64, bool) {
	switch d := doc.(type) {
	case uint64:
		return int64(d), d <= math.MaxInt64
	case int64:
		return d, true
	case json.Number:
		n, err := d.Int64()
		return n, err == nil
	case float64:
		if d == math.Trunc(d) && math.Abs(d) < 1<<53 {
			return int64(d), true
		}
	}
	return 0, false
}

// docFloat reads a number of a JSON or CBOR document, NaN and the
// infinities included, as the AWS protocols spell them in JSON.
func docFloat(doc any) (float64, bool) {
	switch d := doc.(type) {
	case float64:
		return d, true
	case float32:
		return float64(d), true
	case uint64:
		return float64(d), true
	case int64:
		return float64(d), true
	case json.Number:
		f, err := strconv.ParseFloat(string(d), 64)
		return f, err == nil
	case string:
		f, err := parseFloat(d, 64)
		return f, err == nil && (math.IsNaN(f) || math.IsInf(f, 0))
	}
	return 0, false
}

// docTime reads a timestamp: seconds since the epoch, tagged (CBOR tag 1)
// or not.
func docTime(doc any) (time.Time, bool) {
	switch d := doc.(type) {
	case time.Time:
		return d.UTC(), true
	case cbor.Tag:
		if d.Number == 1 {
			return docTime(d.Content)
		}
		return time.Time{}, false
	}
	f, ok := docFloat(doc)
	if !ok || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e11 {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(math.Round(frac*1e3))*1e6).UTC(), true
}
