package fake

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// xmlTimeFormat is how EC2 and the AWS Query services write timestamps:
// ISO 8601 in UTC with milliseconds.
const xmlTimeFormat = "2006-01-02T15:04:05.000Z"

// encodeXMLAnswer writes the answer of a query-protocol operation: for EC2,
// <ActionResponse xmlns=...><requestId>…</requestId>members…</ActionResponse>;
// for the AWS Query services, <ActionResponse xmlns=...><ActionResult>
// members…</ActionResult><ResponseMetadata><RequestId>…</RequestId>
// </ResponseMetadata></ActionResponse>, without the ActionResult element
// when the output has no members. out is a pointer to the SDK output
// structure, or nil.
func encodeXMLAnswer(svc *service, action, requestID string, out reflect.Value) []byte {
	x := xmlWriter{style: svc.style}
	x.b.WriteString(xml.Header)
	x.b.WriteString("<" + action + `Response xmlns="` + svc.xmlns + `">`)
	has := out.IsValid() && !out.IsNil()
	if svc.style == ec2Query {
		x.text("requestId", requestID)
		if has {
			x.members(out.Elem())
		}
	} else {
		// An operation without output members answers no Result
		// element, as the services document.
		if has && len(svc.style.members(out.Elem().Type())) > 0 {
			x.open(action + "Result")
			x.members(out.Elem())
			x.close(action + "Result")
		}
		x.open("ResponseMetadata")
		x.text("RequestId", requestID)
		x.close("ResponseMetadata")
	}
	x.close(action + "Response")
	return x.b.Bytes()
}

// encodeXMLError writes an error answer: EC2's
// <Response><Errors><Error><Code>…</Code><Message>…</Message></Error></Errors><RequestID>…</RequestID></Response>,
// or the AWS Query services'
// <ErrorResponse xmlns=...><Error><Type>Sender|Receiver</Type><Code>…</Code><Message>…</Message></Error><RequestId>…</RequestId></ErrorResponse>.
func encodeXMLError(svc *service, status int, code, message, requestID string) []byte {
	var x xmlWriter
	x.b.WriteString(xml.Header)
	if svc.style == ec2Query {
		x.b.WriteString("<Response><Errors><Error>")
		x.text("Code", code)
		x.text("Message", message)
		x.b.WriteString("</Error></Errors>")
		x.text("RequestID", requestID)
		x.b.WriteString("</Response>")
	} else {
		x.b.WriteString(`<ErrorResponse xmlns="` + svc.xmlns + `"><Error>`)
		x.text("Type", faultType(status))
		x.text("Code", code)
		x.text("Message", message)
		x.b.WriteString("</Error>")
		x.text("RequestId", requestID)
		x.b.WriteString("</ErrorResponse>")
	}
	return x.b.Bytes()
}

// faultType is the AWS Query error type of an HTTP status.
func faultType(status int) string {
	if status >= 500 {
		return "Receiver"
	}
	return "Sender"
}

// xmlWriter writes SDK structures as XML. Element names come from the
// SDK's types and the API model, never from a request; text is escaped.
type xmlWriter struct {
	b     bytes.Buffer
	style queryStyle
}

func (x *xmlWriter) open(name string) {
	x.b.WriteByte('<')
	x.b.WriteString(name)
	x.b.WriteByte('>')
}

func (x *xmlWriter) close(name string) {
	x.b.WriteString("</")
	x.b.WriteString(name)
	x.b.WriteByte('>')
}

func (x *xmlWriter) text(name, value string) {
	x.open(name)
	value = validXMLText(value)
	if strings.ContainsAny(value, "<>&'\"\r\n\t") {
		xml.EscapeText(&x.b, []byte(value)) // writes to a bytes.Buffer: cannot fail
	} else {
		x.b.WriteString(value)
	}
	x.close(name)
}

// members writes the members of structure v that have a value.
func (x *xmlWriter) members(v reflect.Value) {
	for _, m := range x.style.members(v.Type()) {
		x.value(m.xml, m.item, v.Field(m.index))
	}
}

// value writes v as the element name; list items are written as elements
// item. Absent values (nil pointers and lists, empty enumerations) are left
// out; an empty list that is not nil is written as an empty element, as EC2
// writes an empty set.
func (x *xmlWriter) value(name, item string, v reflect.Value) {
	t := v.Type()
	switch {
	case t.Kind() == reflect.Pointer:
		if !v.IsNil() {
			x.value(name, item, v.Elem())
		}
		return
	case isStruct(t):
		x.open(name)
		x.members(v)
		x.close(name)
		return
	case isList(t):
		if v.IsNil() {
			return
		}
		x.open(name)
		for i := range v.Len() {
			x.value(item, item, v.Index(i))
		}
		x.close(name)
		return
	}
	if s, ok := scalarText(v); ok {
		x.text(name, s)
	}
}

// scalarText formats a scalar as the query protocols write it; ok is false
// for an absent value (an empty string or enumeration).
func scalarText(v reflect.Value) (s string, ok bool) {
	t := v.Type()
	switch {
	case t == timeType:
		return v.Interface().(time.Time).UTC().Format(xmlTimeFormat), true
	case t == bytesType:
		if v.IsNil() {
			return "", false
		}
		return base64.StdEncoding.EncodeToString(v.Bytes()), true
	}
	switch t.Kind() {
	case reflect.String:
		return v.String(), v.Len() > 0
	case reflect.Bool:
		return strconv.FormatBool(v.Bool()), true
	case reflect.Int32, reflect.Int64, reflect.Int:
		return strconv.FormatInt(v.Int(), 10), true
	case reflect.Float32, reflect.Float64:
		return formatFloat(v.Float(), t.Bits()), true
	}
	return "", false
}

// formatFloat writes a number as the AWS protocols do, with NaN, Infinity
// and -Infinity spelled out.
func formatFloat(f float64, bits int) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return strconv.FormatFloat(f, 'g', -1, bits)
}

// validXMLText replaces what XML 1.0 cannot carry (control characters
// other than tab, CR and LF, and invalid UTF-8) with U+FFFD.
func validXMLText(s string) string {
	for _, r := range s {
		if !isXMLChar(r) {
			return strings.Map(func(r rune) rune {
				if !isXMLChar(r) {
					return '\uFFFD'
				}
				return r
			}, s)
		}
	}
	return s
}

// isXMLChar reports whether XML 1.0 can carry r. U+FFFD is reported as
// not, so that invalid UTF-8 (which decodes to it) is caught; replacing it
// with itself changes nothing.
func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r < 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}
