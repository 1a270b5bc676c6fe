//go:build e2e

package fake

import (
	"reflect"
	"strings"
	"testing"
)

// awsQueryModels are the API models of the services the handler serves in
// the AWS Query protocol.
var awsQueryModels = []struct {
	svc            *service
	model, version string
}{
	{cloudWatchService, "cloudwatch", cloudWatchVersion},
	{autoScalingService, "autoscaling", autoScalingVersion},
	{stsServiceDef, "sts", stsVersion},
}

// TestE2EQueryNamesMatchModel checks, for every structure the operations of
// the AWS Query services read or answer, that the handler's names of each
// member are the ones the service's API model gives: the request parameter
// and the segment before a list's indexes (Name.member.N), the answer's
// element and the element of a list's items. The names that differ from
// the default rules are in awsQueryNames; an entry no member needs fails
// the test too.
func TestE2EQueryNamesMatchModel(t *testing.T) {
	t.Parallel()
	needed := map[string]bool{}
	for _, c := range awsQueryModels {
		t.Run(c.svc.name, func(t *testing.T) {
			model := loadModel(t, c.model, c.version)
			w := &queryModelWalk{t: t, model: model, style: c.svc.style, seen: map[seenKey]bool{}, needed: needed}
			for name, op := range c.svc.ops {
				mop, ok := model.Operations[name]
				if !ok {
					t.Errorf("operation %s is not in the model of %s", name, c.model)
					continue
				}
				w.walk(op.input, mop.Input.Shape, true)
				if mop.Output.Shape != "" {
					w.walk(op.output, mop.Output.Shape, false)
				}
			}
			for _, m := range w.missing {
				t.Log(m)
			}
			if len(w.missing) > 10 {
				t.Errorf("%d Go fields are not in the model", len(w.missing))
			}
			if w.checked < 20 {
				t.Errorf("only %d members checked; the walk missed the structures", w.checked)
			}
		})
	}
	if t.Failed() || t.Skipped() {
		return
	}
	for key := range awsQueryNames {
		if !needed[key] {
			t.Errorf("awsQueryNames[%q] is not needed by any operation served", key)
		}
	}
}

type queryModelWalk struct {
	t       *testing.T
	model   *apiModel
	style   queryStyle
	seen    map[seenKey]bool
	needed  map[string]bool
	missing []string
	checked int
}

func (w *queryModelWalk) walk(t reflect.Type, shape string, input bool) {
	switch {
	case t.Kind() == reflect.Pointer:
		w.walk(t.Elem(), shape, input)
		return
	case isList(t):
		if s := w.model.Shapes[shape]; s.Member != nil {
			w.walk(t.Elem(), s.Member.Shape, input)
		}
		return
	case !isStruct(t) || w.seen[seenKey{t, input}]:
		return
	}
	w.seen[seenKey{t, input}] = true
	s := w.model.Shapes[shape]
	for _, m := range w.style.members(t) {
		// The SDK's Go name is the model's member name with a capital
		// first letter: the protocol's default name is the model's.
		modelName := m.name
		mm, ok := s.Members[m.name]
		if !ok {
			for n, c := range s.Members {
				if strings.EqualFold(n, m.name) {
					modelName, mm, ok = n, c, true
				}
			}
		}
		if !ok {
			w.missing = append(w.missing, t.Name()+"."+m.name+": not in the model's shape "+shape)
			continue
		}
		name, item := modelName, "member"
		if mm.LocationName != "" {
			name = mm.LocationName
		}
		if ls := w.model.Shapes[mm.Shape]; ls.Type == "list" && ls.Member != nil && ls.Member.LocationName != "" {
			item = ls.Member.LocationName
		}
		isListMember := isList(m.typ)
		key := strings.TrimPrefix(t.PkgPath(), sdkServicePath) + "." + t.Name() + "." + m.name
		if name != m.name || isListMember && item != "member" {
			w.needed[key] = true
		}
		w.checked++
		if input {
			if m.query != name {
				w.t.Errorf("%s: request parameter %q, the model's %q", key, m.query, name)
			}
			if isListMember && m.queryItem != item {
				w.t.Errorf("%s: list items %s.%s.N, the model's %s.%s.N", key, m.query, m.queryItem, name, item)
			}
		} else {
			if m.xml != name {
				w.t.Errorf("%s: element <%s>, the model's <%s>", key, m.xml, name)
			}
			if isListMember && m.item != item {
				w.t.Errorf("%s: list items <%s>, the model's <%s>", key, m.item, item)
			}
		}
		w.walk(m.typ, mm.Shape, input)
	}
}
