package fake

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/imdsopts/imdsopts/internal/ec2limits"
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
		th, ok := ec2limits.Of(m.Name)
		if !ok || th.Request == ec2limits.None {
			t.Errorf("%s has no request bucket category in apiThrottling", m.Name)
		}
	}
	if n < 10 {
		t.Errorf("found only %d operations", n)
	}
	for _, op := range ec2limits.Operations() {
		if _, ok := typ.MethodByName(op); !ok {
			t.Errorf("ec2limits lists %s, which the fake does not serve", op)
		}
	}
}
