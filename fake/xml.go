package fake

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"math"
	"reflect"
	"strconv"
	"time"
)

// xmlTimeFormat is how EC2 and the AWS Query services write timestamps:
// ISO 8601 in UTC with milliseconds.
const xmlTimeFormat = "2006-01-02T15:04:05.000Z"

// encodeXMLAnswer writes the answer of a query-protocol operation: for EC2,
// <ActionResponse xmlns=...><requestId>…</requestId>members…</ActionResponse>;
// for the AWS Query services, <ActionResponse xmlns=...><ActionResult>
// members…</ActionResult><ResponseMetadata><RequestId>…</RequestId>
// </ResponseMetadata></ActionResponse>. out is a pointer to the SDK output
// structure, or nil.
func encodeXMLAnswer(svc *service, action, requestID string, out reflect.Value) []byte {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	e := xml.NewEncoder(&b)
	root := xml.StartElement{Name: xml.Name{Local: action + "Response"}, Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: svc.xmlns}}}
	x := xmlEncoder{e: e, style: svc.style}
	x.start(root)
	if svc.style == ec2Query {
		x.text("requestId", requestID)
		if out.IsValid() && !out.IsNil() {
			x.members(out.Elem())
		}
	} else {
		x.start(xml.StartElement{Name: xml.Name{Local: action + "Result"}})
		if out.IsValid() && !out.IsNil() {
			x.members(out.Elem())
		}
		x.end("")
		x.start(xml.StartElement{Name: xml.Name{Local: "ResponseMetadata"}})
		x.text("RequestId", requestID)
		x.end("")
	}
	x.end("")
	e.Flush()
	return b.Bytes()
}

// encodeXMLError writes an error answer: EC2's
// <Response><Errors><Error><Code>…</Code><Message>…</Message></Error></Errors><RequestID>…</RequestID></Response>,
// or the AWS Query services'
// <ErrorResponse xmlns=...><Error><Type>Sender|Receiver</Type><Code>…</Code><Message>…</Message></Error><RequestId>…</RequestId></ErrorResponse>.
func encodeXMLError(svc *service, status int, code, message, requestID string) []byte {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	e := xml.NewEncoder(&b)
	x := xmlEncoder{e: e}
	if svc.style == ec2Query {
		x.start(xml.StartElement{Name: xml.Name{Local: "Response"}})
		x.start(xml.StartElement{Name: xml.Name{Local: "Errors"}})
		x.start(xml.StartElement{Name: xml.Name{Local: "Error"}})
		x.text("Code", code)
		x.text("Message", message)
		x.end("")
		x.end("")
		x.text("RequestID", requestID)
		x.end("")
	} else {
		x.start(xml.StartElement{Name: xml.Name{Local: "ErrorResponse"}, Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: svc.xmlns}}})
		x.start(xml.StartElement{Name: xml.Name{Local: "Error"}})
		x.text("Type", faultType(status))
		x.text("Code", code)
		x.text("Message", message)
		x.end("")
		x.text("RequestId", requestID)
		x.end("")
	}
	e.Flush()
	return b.Bytes()
}

// faultType is the AWS Query error type of an HTTP status.
func faultType(status int) string {
	if status >= 500 {
		return "Receiver"
	}
	return "Sender"
}

// xmlEncoder writes SDK structures as XML. Writing to a bytes.Buffer cannot
// fail, and every name and text comes from the SDK's types or is escaped by
// encoding/xml, so errors of the encoder are not expected; the first one is
// kept and stops further output.
type xmlEncoder struct {
	e     *xml.Encoder
	style queryStyle
	stack []xml.StartElement
	err   error
}

func (x *xmlEncoder) token(t xml.Token) {
	if x.err == nil {
		x.err = x.e.EncodeToken(t)
	}
}

func (x *xmlEncoder) start(s xml.StartElement) {
	x.stack = append(x.stack, s)
	x.token(s)
}

func (x *xmlEncoder) end(string) {
	s := x.stack[len(x.stack)-1]
	x.stack = x.stack[:len(x.stack)-1]
	x.token(s.End())
}

func (x *xmlEncoder) text(name, value string) {
	x.start(xml.StartElement{Name: xml.Name{Local: name}})
	x.token(xml.CharData(validXMLText(value)))
	x.end("")
}

// members writes the members of structure v that have a value.
func (x *xmlEncoder) members(v reflect.Value) {
	t := v.Type()
	for _, m := range members(t) {
		x.value(x.style.xmlName(t, m), x.style.itemName(t, m), v.Field(m.index))
	}
}

// value writes v as the element name; list items are written as elements
// item. Absent values (nil pointers and lists, empty enumerations) are left
// out; an empty list that is not nil is written as an empty element, as EC2
// writes an empty set.
func (x *xmlEncoder) value(name, item string, v reflect.Value) {
	t := v.Type()
	switch {
	case t.Kind() == reflect.Pointer:
		if !v.IsNil() {
			x.value(name, item, v.Elem())
		}
		return
	case isStruct(t):
		x.start(xml.StartElement{Name: xml.Name{Local: name}})
		x.members(v)
		x.end("")
		return
	case isList(t):
		if v.IsNil() {
			return
		}
		x.start(xml.StartElement{Name: xml.Name{Local: name}})
		for i := range v.Len() {
			x.value(item, item, v.Index(i))
		}
		x.end("")
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

// validXMLText replaces the characters XML 1.0 cannot carry (control
// characters other than tab, CR and LF, and invalid UTF-8), which
// encoding/xml would otherwise write as they are.
func validXMLText(s string) string {
	ok := true
	for _, r := range s {
		if !isXMLChar(r) {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	out := make([]rune, 0, len(s))
	for _, r := range s {
		if !isXMLChar(r) {
			r = '\uFFFD'
		}
		out = append(out, r)
	}
	return string(out)
}

func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD && r != 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}
