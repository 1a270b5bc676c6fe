package awscli

import (
	"bytes"
	"maps"
	"math"
	"slices"
	"strings"
	"unicode"
)

// The table output is a port of the AWS CLI's table formatter (v1 and v2
// share it): sections with a centred title, a header row and rows, nested
// objects as indented sections, and a section of one row turned vertical
// (key | value) when the table is wider than the terminal. The terminal is
// taken to be 80 columns wide, which is what the AWS CLI assumes when its
// output is not a terminal.
const tableWidth = 80

// ANSI styles of the AWS CLI's coloured tables (colorama's).
const (
	styleRow    = "\x1b[1m\x1b[34m"
	styleIndent = "\x1b[2m\x1b[33m"
	styleReset  = "\x1b[0m"
)

type section struct {
	title     string
	headers   []string
	rows      [][]string
	indent    int
	maxWidths []int
	numCols   int
}

func textWidth(s string) int {
	n := 0
	for _, r := range s {
		if isWide(r) {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// isWide approximates East Asian Wide and Fullwidth characters.
func isWide(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hangul, unicode.Hiragana, unicode.Katakana) ||
		r >= 0xFF01 && r <= 0xFF60 || r >= 0xFFE0 && r <= 0xFFE6 || r >= 0x3000 && r <= 0x303F
}

func (s *section) updateWidths(row []string) {
	if s.maxWidths == nil {
		s.maxWidths = make([]int, len(row))
		for i, e := range row {
			s.maxWidths[i] = textWidth(e)
		}
		return
	}
	for i, e := range row {
		if i < len(s.maxWidths) {
			s.maxWidths[i] = max(s.maxWidths[i], textWidth(e))
		}
	}
}

func (s *section) addHeader(keys []string) {
	h := make([]string, len(keys))
	for i, k := range keys {
		h[i] = str(k)
	}
	s.updateWidths(h)
	if s.numCols == 0 {
		s.numCols = len(h)
	}
	s.headers = h
}

func (s *section) addRow(row []any) {
	strs := make([]string, len(row))
	for i, e := range row {
		strs[i] = str(e)
	}
	if s.numCols == 0 {
		s.numCols = len(strs)
	}
	s.rows = append(s.rows, strs)
	s.updateWidths(strs)
}

func (s *section) columnWidths(padding, maxWidth int) []int {
	widths := make([]int, len(s.maxWidths))
	sum := 0
	for i, w := range s.maxWidths {
		widths[i] = w + padding
		sum += widths[i]
	}
	if maxWidth < 0 || len(widths) == 0 {
		return widths
	}
	scale := float64(maxWidth) / float64(sum)
	total := 0
	for i, w := range widths {
		widths[i] = int(math.RoundToEven(scale * float64(w)))
		total += widths[i]
	}
	off := total - maxWidth
	for off != 0 {
		if off > 0 {
			for i := 0; i < len(widths) && off != 0; i++ {
				widths[i]--
				off--
			}
		} else {
			for i := len(widths) - 1; i >= 0 && off != 0; i-- {
				widths[i]++
				off++
			}
		}
	}
	return widths
}

func (s *section) totalWidth(padding int, border bool, outer int) int {
	total := 0
	for _, w := range s.columnWidths(0, -1) {
		total += w + padding
	}
	if border {
		total += 2
	}
	total += 2 * outer
	return max(textWidth(s.title)+2+2*outer, total)
}

type multiTable struct {
	sections []*section
	current  *section
	color    bool
}

func (t *multiTable) newSection(title string, indent int) {
	t.current = &section{title: str(title), indent: indent}
	t.sections = append(t.sections, t.current)
}

func formatTable(b *bytes.Buffer, title string, doc any, color bool) {
	t := &multiTable{color: color}
	if t.build(title, doc, 0) {
		t.render(b)
	}
}

func truthy(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case map[string]any:
		return len(v) > 0
	case []any:
		return len(v) > 0
	case string:
		return v != ""
	case float64:
		return v != 0
	case bool:
		return v
	}
	return true
}

func (t *multiTable) build(title string, cur any, indent int) bool {
	if !truthy(cur) {
		return false
	}
	if title != "" {
		t.newSection(title, indent)
	}
	switch cur := cur.(type) {
	case []any:
		if _, ok := cur[0].(map[string]any); ok {
			t.subTableFromList(cur, indent, title)
		} else {
			for _, item := range cur {
				switch {
				case isScalar(item):
					t.current.addRow([]any{item})
				case allScalar(item):
					t.current.addRow(item.([]any))
				default:
					t.build("", item, 0)
				}
			}
		}
	case map[string]any:
		t.subTableFromDict(cur, indent)
	}
	return true
}

func allScalar(v any) bool {
	l, ok := v.([]any)
	if !ok {
		return false // an object: the AWS CLI builds a table of it
	}
	for _, e := range l {
		if !isScalar(e) {
			return false
		}
	}
	return true
}

func groupScalarKeys(m map[string]any) (headers, more []string) {
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if isScalar(m[k]) {
			headers = append(headers, k)
		} else {
			more = append(more, k)
		}
	}
	return headers, more
}

func (t *multiTable) subTableFromDict(cur map[string]any, indent int) {
	if t.current == nil {
		t.newSection("", indent)
	}
	headers, more := groupScalarKeys(cur)
	if len(headers) == 1 {
		t.current.addRow([]any{headers[0], cur[headers[0]]})
	} else if len(headers) > 0 {
		t.current.addHeader(headers)
		row := make([]any, len(headers))
		for i, h := range headers {
			row[i] = cur[h]
		}
		t.current.addRow(row)
	}
	for _, k := range more {
		t.build(k, cur[k], indent+1)
	}
}

func (t *multiTable) subTableFromList(cur []any, indent int, title string) {
	hs, ms := map[string]bool{}, map[string]bool{}
	for _, e := range cur {
		m, _ := e.(map[string]any)
		h, more := groupScalarKeys(m)
		for _, k := range h {
			hs[k] = true
		}
		for _, k := range more {
			ms[k] = true
		}
	}
	headers, more := slices.Sorted(maps.Keys(hs)), slices.Sorted(maps.Keys(ms))
	if t.current == nil {
		t.newSection("", indent)
	}
	t.current.addHeader(headers)
	for i, e := range cur {
		m, _ := e.(map[string]any)
		if i > 0 && len(more) > 0 {
			t.newSection(title, indent)
			t.current.addHeader(headers)
		}
		row := make([]any, len(headers))
		for j, h := range headers {
			if v, ok := m[h]; ok {
				row[j] = v
			} else {
				row[j] = ""
			}
		}
		t.current.addRow(row)
		for _, k := range more {
			if v, ok := m[k]; ok {
				t.build(k, v, indent+1)
			}
		}
	}
}

func (t *multiTable) maxWidth() int {
	w := 0
	for _, s := range t.sections {
		w = max(w, s.totalWidth(4, true, s.indent))
	}
	return w
}

func (t *multiTable) render(b *bytes.Buffer) {
	mw := t.maxWidth()
	if mw > tableWidth {
		// Turn sections of a single row vertical.
		for i, s := range t.sections {
			if len(s.rows) == 1 && len(s.headers) > 0 {
				ns := &section{title: s.title, indent: s.indent}
				for j, h := range s.headers {
					if j < len(s.rows[0]) {
						ns.addRow([]any{h, s.rows[0][j]})
					}
				}
				t.sections[i] = ns
			}
		}
		mw = t.maxWidth()
	}
	b.WriteString(strings.Repeat("-", mw) + "\n")
	for _, s := range t.sections {
		t.renderSection(b, s, mw)
	}
}

// indented writes lines with a section's indentation on both sides.
type indented struct {
	b    *bytes.Buffer
	edge string
}

func (w indented) line(s string) {
	w.b.WriteString(w.edge + s + w.edge + "\n")
}

func (t *multiTable) renderSection(b *bytes.Buffer, s *section, mw int) {
	edge := "|"
	if t.color {
		edge = styleIndent + "|" + styleReset
	}
	w := indented{b: b, edge: strings.Repeat(edge, s.indent)}
	mw -= 2 * s.indent
	if s.title != "" {
		w.line(centerText(s.title, mw, "|", "|", textWidth(s.title)))
		if len(s.headers) == 0 && len(s.rows) == 0 {
			w.line("+" + strings.Repeat("-", mw-2) + "+")
		}
	}
	if len(s.headers) > 0 {
		widths := s.columnWidths(4, mw)
		var cur strings.Builder
		for i, h := range s.headers {
			if i >= len(widths) {
				break
			}
			left := ""
			if i == 0 {
				left = "|"
			}
			cur.WriteString(centerText(h, widths[i], left, "|", textWidth(h)))
		}
		w.line(lineBreak(widths))
		w.line(cur.String())
	}
	if len(s.rows) > 0 {
		widths := s.columnWidths(4, mw)
		if len(widths) == 0 {
			return
		}
		w.line(lineBreak(widths))
		for _, row := range s.rows {
			var cur strings.Builder
			for i, e := range row {
				if i >= len(widths) {
					break
				}
				left := ""
				if i == 0 {
					left = "|"
				}
				styled := e
				if t.color {
					styled = styleRow + e + styleReset
				}
				cur.WriteString(alignLeft(styled, widths[i], left, "|", textWidth(e)))
			}
			w.line(cur.String())
		}
		w.line(lineBreak(widths))
	}
}

func lineBreak(widths []int) string {
	var b strings.Builder
	for i, w := range widths {
		if i == 0 {
			b.WriteString("+" + strings.Repeat("-", max(w-2, 0)) + "+")
		} else {
			b.WriteString(strings.Repeat("-", max(w-1, 0)) + "+")
		}
	}
	return b.String()
}

func centerText(text string, length int, left, right string, textLen int) string {
	start := max(length/2-textLen/2-1, 0)
	soFar := textWidth(left) + start + textLen
	rightSpaces := max(length-textWidth(right)-soFar, 0)
	return left + strings.Repeat(" ", start) + text + strings.Repeat(" ", rightSpaces) + right
}

func alignLeft(text string, length int, left, right string, textLen int) string {
	padding := 2
	if length-(textLen+2+textWidth(left)+textWidth(right)) < 0 {
		padding = 0
	}
	soFar := len(left) + padding + textLen
	return left + strings.Repeat(" ", padding) + text + strings.Repeat(" ", max(length-soFar-len(right), 0)) + right
}
