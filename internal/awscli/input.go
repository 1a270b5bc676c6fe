package awscli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"reflect"
	"strings"

	"github.com/imdsopts/imdsopts/internal/check"
	"github.com/imdsopts/imdsopts/internal/userfile"
)

// MaxParamSize bounds what LoadParam reads from a file or standard input:
// 1 MiB, far more than any input of a command, so that a large file, or
// endless standard input, is refused instead of filling the memory.
const MaxParamSize = 1 << 20

// LoadParam returns the value of a parameter as the AWS CLI takes it: for
// file://PATH the contents of the file, for fileb://PATH too (the AWS CLI
// decodes the first as text; JSON is text either way), for "-" all of
// stdin, and otherwise value itself. The PATH of file:// and fileb:// must
// name a regular file: a FIFO, a device (file:///dev/zero) or a directory
// is refused before it can block. More than MaxParamSize bytes is an
// error. When ctx ends first, LoadParam returns ctx's error at once; a read
// that cannot be interrupted (a pipe nobody writes to, a terminal) goes on in
// the background until the program exits.
func LoadParam(ctx context.Context, value string, stdin io.Reader) ([]byte, error) {
	var open func() (io.ReadCloser, error)
	switch {
	case strings.HasPrefix(value, "file://"), strings.HasPrefix(value, "fileb://"):
		path := value[strings.Index(value, "://")+3:]
		// Not os.Open: a FIFO or a device must be refused, not waited on.
		open = func() (io.ReadCloser, error) { return userfile.Open(path) }
	case value == "-":
		if stdin == nil {
			return nil, errors.New("no standard input to read")
		}
		open = func() (io.ReadCloser, error) { return io.NopCloser(stdin), nil }
	default:
		if len(value) > MaxParamSize {
			return nil, fmt.Errorf("%d bytes: more than %s", len(value), sizeText(MaxParamSize))
		}
		return []byte(value), nil
	}
	type result struct {
		data []byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		f, err := open()
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err // the path is the user's, echoed shortened below
			}
			done <- result{nil, fmt.Errorf("unable to load %s: %w", check.Quote(value), err)}
			return
		}
		defer f.Close()
		data, err := io.ReadAll(io.LimitReader(f, MaxParamSize+1))
		switch {
		case err != nil:
			err = fmt.Errorf("reading %s: %w", check.Quote(value), err)
		case len(data) > MaxParamSize:
			data, err = nil, fmt.Errorf("%s: more than %s", check.Quote(value), sizeText(MaxParamSize))
		}
		done <- result{data, err}
	}()
	select {
	case r := <-done:
		return r.data, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func sizeText(n int) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// DecodeInput decodes the JSON document data into dst, a non-nil pointer,
// as the AWS CLI reads --cli-input-json and JSON parameter values, which is
// stricter than encoding/json:
//
//   - a struct is a JSON object whose member names match the fields' json
//     tags exactly, case included (encoding/json takes "httptokens" for
//     "HttpTokens"); fields without a json tag are not members;
//   - an unknown member is refused, naming the valid ones; a member given
//     twice is refused (encoding/json keeps the last);
//   - null is refused, as the AWS CLI refuses None, instead of leaving the
//     field unset;
//   - a value of the wrong type names the member, the value and the type.
//
// Pointers, structs and slices are decoded by these rules at every depth,
// other values as encoding/json decodes them. data must hold one JSON value.
func DecodeInput(data []byte, dst any) error {
	v := reflect.ValueOf(dst)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return fmt.Errorf("DecodeInput: dst must be a non-nil pointer, not %T", dst)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return fmt.Errorf("invalid JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("invalid JSON: more than one value")
	}
	return decodeValue(raw, v.Elem(), "")
}

// decodeValue decodes raw, one valid JSON value, into v; path names v in
// errors ("" for the whole document).
func decodeValue(raw json.RawMessage, v reflect.Value, path string) error {
	kind := jsonKind(raw)
	if path == "" && typeName(v.Type()) == "object" && kind != "object" {
		return fmt.Errorf("must be a JSON object, not %s", article(kind))
	}
	if kind == "null" {
		return typeError(raw, v.Type(), path)
	}
	switch v.Kind() {
	case reflect.Pointer:
		elem := reflect.New(v.Type().Elem())
		if err := decodeValue(raw, elem.Elem(), path); err != nil {
			return err
		}
		v.Set(elem)
		return nil
	case reflect.Struct:
		if kind != "object" {
			return typeError(raw, v.Type(), path)
		}
		return decodeObject(raw, v, path)
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			break // []byte: base64, as encoding/json takes it
		}
		if kind != "array" {
			return typeError(raw, v.Type(), path)
		}
		var elems []json.RawMessage
		if err := json.Unmarshal(raw, &elems); err != nil {
			return typeError(raw, v.Type(), path)
		}
		s := reflect.MakeSlice(v.Type(), len(elems), len(elems))
		for i, e := range elems {
			if err := decodeValue(e, s.Index(i), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		v.Set(s)
		return nil
	}
	if err := json.Unmarshal(raw, v.Addr().Interface()); err != nil {
		// raw is valid JSON, so the error is one of type or range.
		if isInteger(v.Kind()) && kind == "number" && !bytes.ContainsAny(raw, ".eE") {
			return fmt.Errorf("invalid value for parameter %s: %s: out of range", name(path), check.Shorten(string(raw), check.MaxEchoed))
		}
		return typeError(raw, v.Type(), path)
	}
	return nil
}

// decodeObject decodes the JSON object raw into the struct v.
func decodeObject(raw json.RawMessage, v reflect.Value, path string) error {
	fields := map[string]int{}
	var names []string
	for i := range v.NumField() {
		f := v.Type().Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == "" || tag == "-" || !f.IsExported() {
			continue
		}
		fields[tag] = i
		names = append(names, tag)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil { // {
		return err
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key := tok.(string) // a valid object has string keys
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return err
		}
		i, ok := fields[key]
		switch {
		case !ok:
			return fmt.Errorf("unknown parameter in %s: %s, must be one of: %s", name(path), check.Quote(key), strings.Join(names, ", "))
		case seen[key]:
			return fmt.Errorf("parameter %s given twice", member(path, key))
		}
		seen[key] = true
		if err := decodeValue(val, v.Field(i), member(path, key)); err != nil {
			return err
		}
	}
	return nil
}

func member(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func name(path string) string {
	if path == "" {
		return "input"
	}
	return path
}

// typeError reports a value of the wrong JSON type, in the AWS CLI's words.
func typeError(raw json.RawMessage, want reflect.Type, path string) error {
	value := check.Shorten(escapeControls(string(raw), ""), check.MaxEchoed)
	return fmt.Errorf("invalid type for parameter %s, value: %s, type: %s, valid types: %s", name(path), value, jsonKind(raw), typeName(want))
}

// jsonKind names the JSON type of a valid JSON value.
func jsonKind(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	switch raw[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

// typeName names the JSON type a Go type is decoded from.
func typeName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch k := t.Kind(); {
	case k == reflect.String:
		return "string"
	case k == reflect.Bool:
		return "boolean"
	case isInteger(k):
		return "integer"
	case k == reflect.Float32 || k == reflect.Float64:
		return "number"
	case k == reflect.Struct || k == reflect.Map:
		return "object"
	case k == reflect.Slice || k == reflect.Array:
		return "array"
	}
	return t.String()
}

func isInteger(k reflect.Kind) bool {
	switch k {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true
	}
	return false
}

func article(kind string) string {
	if kind == "array" || kind == "object" {
		return "an " + kind
	}
	return "a " + kind
}
