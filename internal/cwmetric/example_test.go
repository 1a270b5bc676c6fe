package cwmetric_test

import (
	"fmt"
	"time"

	"github.com/imdsopts/imdsopts/internal/cwmetric"
)

// No datapoint at all is not a measured zero: CloudWatch may simply not
// have the instance's data.
func ExampleCallsOf() {
	none := &cwmetric.Series{}
	fmt.Println(cwmetric.CallsOf(none, none, none, false).Unknown != "")
	cpu := &cwmetric.Series{Times: []time.Time{time.Unix(0, 0)}, Values: []float64{12}}
	fmt.Println(cwmetric.CallsOf(none, none, cpu, false).Sum)
	bad := &cwmetric.Series{Bad: "CloudWatch answered with messages"}
	fmt.Println(cwmetric.CallsOf(bad, none, cpu, true).Unknown)
	fmt.Println(cwmetric.Days(14 * 24 * time.Hour))
	// Output:
	// true
	// 0
	// CloudWatch answered with messages
	// 14 days
}
