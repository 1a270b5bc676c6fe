package fake

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// TestEveryOperationIsThrottled: every method of EC2 that has the signature
// of an *ec2.Client operation declares how EC2 throttles it, so that a new
// operation cannot be left out of Options.Throttle by accident.
func TestEveryOperationIsThrottled(t *testing.T) {
	ctxType := reflect.TypeFor[context.Context]()
	optType := reflect.TypeFor[[]func(*ec2.Options)]()
	n := 0
	typ := reflect.TypeFor[*EC2]()
	for k := range typ.NumMethod() {
		m := typ.Method(k)
		mt := m.Type
		if mt.NumIn() != 4 || mt.In(1) != ctxType || mt.In(3) != optType || !mt.IsVariadic() {
			continue
		}
		if in := mt.In(2); in.Kind() != reflect.Pointer || !strings.HasSuffix(in.Elem().Name(), "Input") {
			continue
		}
		n++
		th, ok := apiThrottling[m.Name]
		if !ok || th.request == noCategory {
			t.Errorf("%s has no request bucket category in apiThrottling", m.Name)
		}
	}
	if n < 10 {
		t.Errorf("found only %d operations", n)
	}
	for op := range apiThrottling {
		if _, ok := typ.MethodByName(op); !ok {
			t.Errorf("apiThrottling lists %s, which the fake does not serve", op)
		}
	}
}
