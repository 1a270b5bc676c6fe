package fake_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/imdsopts/imdsopts/fake"
)

const (
	opModifyOptions  = "ModifyInstanceMetadataOptions"
	opModifyDefaults = "ModifyInstanceMetadataDefaults"
	opDescribe       = "DescribeInstances"
	opImages         = "DescribeImages"
	opGetDefaults    = "GetInstanceMetadataDefaults"
)

func throttle(o *fake.Options) {
	o.Throttle = true
	o.ApplyDelay = 0
}

// wantThrottled fails the test unless err is a RequestLimitExceeded answer
// of op, as the SDK returns it.
func wantThrottled(t *testing.T, err error, op string) {
	t.Helper()
	wantCode(t, err, op, "RequestLimitExceeded", 503)
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorFault() != smithy.FaultServer {
		t.Errorf("%s: fault %v, want server", op, apiErr.ErrorFault())
	}
}

func TestEC2Buckets(t *testing.T) {
	// The figures of EC2's "Request throttling" documentation.
	want := fake.Buckets{
		ModifyInstanceMetadataOptions:  fake.Bucket{Size: 100, Refill: 5},
		ModifyInstanceMetadataDefaults: fake.Bucket{Size: 2, Refill: 2},
		RunInstances:                   fake.Bucket{Size: 5, Refill: 2},
		StartInstances:                 fake.Bucket{Size: 5, Refill: 2},
		TerminateInstances:             fake.Bucket{Size: 100, Refill: 5},
		CreateLaunchTemplateVersion:    fake.Bucket{Size: 100, Refill: 5},
		ModifyLaunchTemplate:           fake.Bucket{Size: 100, Refill: 5},
		ModifyImageAttribute:           fake.Bucket{Size: 100, Refill: 5},
		Mutating:                       fake.Bucket{Size: 50, Refill: 5},
		Describe:                       fake.Bucket{Size: 100, Refill: 20},
		DescribeUnfiltered:             fake.Bucket{Size: 50, Refill: 10},
		RunInstancesResources:          fake.Bucket{Size: 1000, Refill: 2},
		StartInstancesResources:        fake.Bucket{Size: 1000, Refill: 2},
		StateChangeResources:           fake.Bucket{Size: 1000, Refill: 20},
	}
	if got := fake.EC2Buckets(); got != want {
		t.Errorf("EC2Buckets() = %+v, want %+v", got, want)
	}
	fake.New(func(o *fake.Options) {
		if o.Throttle {
			t.Error("Throttle is on by default")
		}
		if o.Buckets != want {
			t.Errorf("New pre-fills Buckets with %+v, want %+v", o.Buckets, want)
		}
	})
}

// apiCall is one kind of call of an API, for throttling tests.
type apiCall struct {
	name, op string
	// size and refill are the request bucket the call takes from.
	size, refill int
	call         func(f *fake.EC2, n int) error // n counts calls, for unique names
}

// throttledCalls are calls of every API of the fake, with the request
// bucket each takes its token from. Each works on a fake prepared by
// prepare and can be repeated.
func throttledCalls(instances map[string]string) []apiCall {
	ids := func(op string) []string { return []string{instances[op]} }
	return []apiCall{
		{"ModifyInstanceMetadataOptions", opModifyOptions, 100, 5, func(f *fake.EC2, _ int) error {
			_, err := f.ModifyInstanceMetadataOptions(ctx, &ec2.ModifyInstanceMetadataOptionsInput{InstanceId: aws.String(instances[opModifyOptions]), HttpTokens: "required"})
			return err
		}},
		{"ModifyInstanceMetadataDefaults", opModifyDefaults, 2, 2, func(f *fake.EC2, _ int) error {
			_, err := f.ModifyInstanceMetadataDefaults(ctx, &ec2.ModifyInstanceMetadataDefaultsInput{HttpTokens: "required"})
			return err
		}},
		{"RegisterImage", "RegisterImage", 50, 5, func(f *fake.EC2, n int) error {
			_, err := f.RegisterImage(ctx, &ec2.RegisterImageInput{Name: aws.String(fmt.Sprintf("image-%d", n))})
			return err
		}},
		{"RunInstances", "RunInstances", 5, 2, func(f *fake.EC2, _ int) error {
			_, err := f.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(instances["image"]), MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
			return err
		}},
		{"StartInstances", "StartInstances", 5, 2, func(f *fake.EC2, _ int) error {
			_, err := f.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: ids("StartInstances")})
			return err
		}},
		{"StopInstances", "StopInstances", 50, 5, func(f *fake.EC2, _ int) error {
			_, err := f.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: ids("StopInstances")})
			return err
		}},
		{"TerminateInstances", "TerminateInstances", 100, 5, func(f *fake.EC2, _ int) error {
			_, err := f.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: ids("TerminateInstances")})
			return err
		}},
		{"CreateLaunchTemplate", "CreateLaunchTemplate", 50, 5, func(f *fake.EC2, n int) error {
			_, err := f.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String(fmt.Sprintf("template-%d", n)),
				LaunchTemplateData: &types.RequestLaunchTemplateData{}})
			return err
		}},
		{"CreateLaunchTemplateVersion", "CreateLaunchTemplateVersion", 100, 5, func(f *fake.EC2, _ int) error {
			_, err := f.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{LaunchTemplateId: aws.String(instances["template"]),
				LaunchTemplateData: &types.RequestLaunchTemplateData{}})
			return err
		}},
		{"ModifyLaunchTemplate", "ModifyLaunchTemplate", 100, 5, func(f *fake.EC2, _ int) error {
			_, err := f.ModifyLaunchTemplate(ctx, &ec2.ModifyLaunchTemplateInput{LaunchTemplateId: aws.String(instances["template"]), DefaultVersion: aws.String("1")})
			return err
		}},
		{"DeleteLaunchTemplateVersions", "DeleteLaunchTemplateVersions", 50, 5, func(f *fake.EC2, _ int) error {
			_, err := f.DeleteLaunchTemplateVersions(ctx, &ec2.DeleteLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(instances["template"]), Versions: []string{"999"}})
			return err
		}},
		{"ModifyImageAttribute", "ModifyImageAttribute", 100, 5, func(f *fake.EC2, _ int) error {
			_, err := f.ModifyImageAttribute(ctx, &ec2.ModifyImageAttributeInput{ImageId: aws.String(instances["image"]), ImdsSupport: &types.AttributeValue{Value: aws.String("v2.0")}})
			return err
		}},
		{"DescribeInstances unfiltered", opDescribe, 50, 10, func(f *fake.EC2, _ int) error {
			_, err := f.DescribeInstances(ctx, nil)
			return err
		}},
		{"DescribeInstances with InstanceIds", opDescribe, 50, 10, func(f *fake.EC2, _ int) error {
			_, err := f.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: ids(opDescribe)})
			return err
		}},
		{"DescribeInstances with empty Filters", opDescribe, 50, 10, func(f *fake.EC2, _ int) error {
			_, err := f.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []types.Filter{}})
			return err
		}},
		{"DescribeInstances filtered", opDescribe, 100, 20, func(f *fake.EC2, _ int) error {
			_, err := f.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []types.Filter{{Name: aws.String("instance-state-name"), Values: []string{"running"}}}})
			return err
		}},
		{"DescribeInstances paginated", opDescribe, 100, 20, func(f *fake.EC2, _ int) error {
			_, err := f.DescribeInstances(ctx, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5)})
			return err
		}},
		{"DescribeImages unfiltered", opImages, 100, 20, func(f *fake.EC2, _ int) error {
			_, err := f.DescribeImages(ctx, nil)
			return err
		}},
		{"DescribeImages filtered", opImages, 100, 20, func(f *fake.EC2, _ int) error {
			_, err := f.DescribeImages(ctx, &ec2.DescribeImagesInput{Filters: []types.Filter{{Name: aws.String("name"), Values: []string{"x"}}}})
			return err
		}},
		{"GetInstanceMetadataDefaults", opGetDefaults, 100, 20, func(f *fake.EC2, _ int) error {
			_, err := f.GetInstanceMetadataDefaults(ctx, nil)
			return err
		}},
	}
}

// prepare returns a throttled fake with an image and an instance for each
// API that needs one.
func prepare(t *testing.T) (*fake.EC2, map[string]string) {
	f := fake.New(throttle)
	m := map[string]string{}
	for _, op := range []string{opModifyOptions, "StartInstances", "StopInstances", "TerminateInstances", opDescribe} {
		m[op] = seedOne(t, f)
	}
	// The image the first Launch registered: IDs are counters, and looking
	// it up would take a token.
	m["image"] = "ami-00000000000000001"
	// A launch template, made without taking a token.
	f.Unthrottled(func() {
		out, err := f.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("throttled"),
			LaunchTemplateData: &types.RequestLaunchTemplateData{}})
		if err != nil {
			t.Fatal(err)
		}
		m["template"] = aws.ToString(out.LaunchTemplate.LaunchTemplateId)
	})
	return f, m
}

// drain calls c until it is throttled and returns how many calls
// succeeded before.
func drain(t *testing.T, f *fake.EC2, c apiCall, n *int) int {
	t.Helper()
	for ok := 0; ok <= 1000; ok++ {
		*n++
		if err := c.call(f, *n); err != nil {
			wantThrottled(t, err, c.op)
			return ok
		}
	}
	t.Fatalf("%s: never throttled", c.name)
	return 0
}

// TestThrottlePerAPI: every API has request buckets of its own, of its
// category's size, and a call to one never takes tokens from another's. Of
// the fake's APIs only DescribeInstances has the smaller bucket for
// unfiltered, unpaginated calls.
func TestThrottlePerAPI(t *testing.T) {
	_, m := prepare(t)
	for _, c := range throttledCalls(m) {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f, m := prepare(t)
				calls := throttledCalls(m)
				n := 0
				if got := drain(t, f, c, &n); got != c.size {
					t.Errorf("%d calls succeeded, want the bucket's %d", got, c.size)
				}
				// Every other bucket is still full: calls of other APIs, and
				// of the other bucket of the same API, succeed.
				for _, other := range calls {
					if other.op == c.op && other.size == c.size {
						wantThrottled(t, other.call(f, 10000), other.op)
						continue
					}
					if err := other.call(f, 10000+len(other.name)); err != nil {
						t.Errorf("%s after draining %s: %v", other.name, c.name, err)
					}
				}
				// A second refills the bucket at its rate.
				time.Sleep(time.Second)
				if got := drain(t, f, c, &n); got != c.refill {
					t.Errorf("after 1s, %d calls succeeded, want %d", got, c.refill)
				}
			})
		})
	}
}

// TestThrottleResourceBuckets: RunInstances and the state changes take a
// resource token per instance from a bucket of their own; a call that needs
// more tokens than are left is refused whole.
func TestThrottleResourceBuckets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := fake.New(throttle)
		image := aws.ToString(describe(t, f, seedOne(t, f)).ImageId)
		run := func(n int32) error {
			_, err := f.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(image), MinCount: aws.Int32(n), MaxCount: aws.Int32(n)})
			return err
		}
		count := func() int {
			out, err := f.DescribeInstances(ctx, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(1000)})
			if err != nil {
				t.Fatal(err)
			}
			n := len(ids(out))
			for out.NextToken != nil {
				if out, err = f.DescribeInstances(ctx, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(1000), NextToken: out.NextToken}); err != nil {
					t.Fatal(err)
				}
				n += len(ids(out))
			}
			return n
		}

		if err := run(1000); err != nil {
			t.Fatalf("1000 instances from a full bucket: %v", err)
		}
		wantThrottled(t, run(1), "RunInstances")
		if n, c := count(), f.Throttled("RunInstances"); n != 1001 || c != 1 {
			t.Errorf("%d instances, %d throttled; want 1001 and 1", n, c)
		}
		// A dry run and an invalid call launch nothing and take no resource
		// token.
		_, err := f.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(image), MinCount: aws.Int32(1), MaxCount: aws.Int32(1000), DryRun: aws.Bool(true)})
		wantCode(t, err, "RunInstances", "DryRunOperation", 412)
		// Two tokens a second; a launch of 3 is refused whole, then 2 go.
		time.Sleep(time.Second)
		wantThrottled(t, run(3), "RunInstances")
		if err := run(2); err != nil {
			t.Errorf("2 instances after 1s: %v", err)
		}
		if n := count(); n != 1003 {
			t.Errorf("%d instances, want 1003", n)
		}

		// Seeding takes no token.
		many := seed(t, f, 2500)
		time.Sleep(time.Minute) // request buckets refill; RunInstances' gets 120 tokens
		if err := run(100); err != nil {
			t.Errorf("after a minute and Launch(2500): %v", err)
		}

		// Start, stop and terminate each have a resource bucket of 1000,
		// refilled at 2, 20 and 20 a second.
		stop := func(ids []string) error {
			_, err := f.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: ids})
			return err
		}
		if err := stop(many[:1000]); err != nil {
			t.Fatalf("stopping 1000: %v", err)
		}
		wantThrottled(t, stop(many[1000:1001]), "StopInstances")
		if _, err := f.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: many[:1000]}); err != nil {
			t.Errorf("StartInstances has its own bucket: %v", err)
		}
		if _, err := f.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: many[1000:2000]}); err != nil {
			t.Errorf("TerminateInstances has its own bucket: %v", err)
		}
		time.Sleep(time.Second)
		wantThrottled(t, stop(many[2000:2021]), "StopInstances")
		if err := stop(many[2000:2020]); err != nil {
			t.Errorf("stopping 20 after 1s: %v", err)
		}
		out, err := f.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: many[2020:2021]})
		if err != nil || ids(out)[0] != many[2020] || out.Reservations[0].Instances[0].State.Name != "running" {
			t.Errorf("a refused stop stopped an instance: %v", err)
		}
		if n := f.Throttled("StopInstances"); n != 2 {
			t.Errorf("Throttled(StopInstances) = %d, want 2", n)
		}
		// StartInstances' bucket got 2 tokens in that second.
		start := func(ids []string) error {
			_, err := f.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: ids})
			return err
		}
		wantThrottled(t, start(many[2000:2003]), "StartInstances")
		if err := start(many[2000:2002]); err != nil {
			t.Errorf("starting 2 after 1s: %v", err)
		}
	})
}

func TestThrottleModifyInstanceMetadataOptions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := fake.New(throttle)
		id := seedOne(t, f)
		modify := func(tokens types.HttpTokensState) error {
			_, err := f.ModifyInstanceMetadataOptions(ctx, &ec2.ModifyInstanceMetadataOptionsInput{InstanceId: aws.String(id), HttpTokens: tokens})
			return err
		}

		for i := range 100 {
			if err := modify("optional"); err != nil {
				t.Fatalf("call %d: %v", i+1, err)
			}
		}
		// The 101st call is refused and has no effect.
		wantThrottled(t, modify("required"), opModifyOptions)
		if md := describe(t, f, id).MetadataOptions; md.HttpTokens != "optional" {
			t.Errorf("throttled call had an effect: %s", show(md))
		}
		if n := f.Throttled(opModifyOptions); n != 1 {
			t.Errorf("Throttled = %d, want 1", n)
		}
		if n := f.Calls(opModifyOptions); n != 101 {
			t.Errorf("Calls = %d, want 101 (throttled calls count)", n)
		}

		// A second refills 5 tokens.
		time.Sleep(time.Second)
		for i := range 5 {
			if err := modify("required"); err != nil {
				t.Fatalf("after 1s, call %d: %v", i+1, err)
			}
		}
		wantThrottled(t, modify("required"), opModifyOptions)
		if n := f.Throttled(opModifyOptions); n != 2 {
			t.Errorf("Throttled = %d, want 2", n)
		}

		// Partial refill: 5 tokens a second is one every 200ms.
		time.Sleep(200 * time.Millisecond)
		if err := modify("required"); err != nil {
			t.Errorf("after 200ms: %v", err)
		}
		wantThrottled(t, modify("required"), opModifyOptions)

		// The bucket never holds more than 100 tokens.
		time.Sleep(time.Hour)
		for i := range 100 {
			if err := modify("optional"); err != nil {
				t.Fatalf("after an hour, call %d: %v", i+1, err)
			}
		}
		wantThrottled(t, modify("optional"), opModifyOptions)
		if n := f.Throttled(opModifyOptions); n != 4 {
			t.Errorf("Throttled = %d, want 4", n)
		}
	})
}

func TestThrottleModifyInstanceMetadataDefaults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := fake.New(throttle)
		modify := func() error {
			_, err := f.ModifyInstanceMetadataDefaults(ctx, &ec2.ModifyInstanceMetadataDefaultsInput{HttpTokens: "required"})
			return err
		}
		for i := range 2 {
			if err := modify(); err != nil {
				t.Fatalf("call %d: %v", i+1, err)
			}
		}
		wantThrottled(t, modify(), opModifyDefaults)
		time.Sleep(500 * time.Millisecond)
		if err := modify(); err != nil {
			t.Errorf("after 500ms: %v", err)
		}
		wantThrottled(t, modify(), opModifyDefaults)
		// The instance-level bucket is a different one.
		if n := f.Throttled(opModifyOptions); n != 0 {
			t.Errorf("Throttled(%s) = %d, want 0", opModifyOptions, n)
		}
	})
}

func TestThrottleOffByDefault(t *testing.T) {
	f := fake.New(func(o *fake.Options) { o.ApplyDelay = 0 })
	id := seedOne(t, f)
	for i := range 1000 {
		if _, err := f.ModifyInstanceMetadataOptions(ctx, &ec2.ModifyInstanceMetadataOptionsInput{InstanceId: aws.String(id), HttpTokens: "required"}); err != nil {
			t.Fatalf("ModifyInstanceMetadataOptions %d: %v", i+1, err)
		}
		if _, err := f.ModifyInstanceMetadataDefaults(ctx, &ec2.ModifyInstanceMetadataDefaultsInput{HttpTokens: "required"}); err != nil {
			t.Fatalf("ModifyInstanceMetadataDefaults %d: %v", i+1, err)
		}
		if _, err := f.DescribeInstances(ctx, nil); err != nil {
			t.Fatalf("DescribeInstances %d: %v", i+1, err)
		}
	}
	for _, op := range []string{opModifyOptions, opModifyDefaults, opDescribe} {
		if n := f.Throttled(op); n != 0 {
			t.Errorf("Throttled(%s) = %d, want 0", op, n)
		}
	}
}

func TestThrottleOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		modify := func(ctx context.Context, f *fake.EC2) error {
			_, err := f.ModifyInstanceMetadataDefaults(ctx, &ec2.ModifyInstanceMetadataDefaultsInput{HttpTokens: "required"})
			return err
		}

		// Canceled calls and injected failures take no token and are not
		// counted as throttled.
		f := fake.New(throttle)
		canceled, cancel := context.WithCancel(ctx)
		cancel()
		var ce *smithy.CanceledError
		if err := modify(canceled, f); !errors.As(err, &ce) {
			t.Errorf("canceled: got %v, want a CanceledError", err)
		}
		f.FailNext(opModifyDefaults, 3, fake.NewAPIError(503, "RequestLimitExceeded", "Request limit exceeded."))
		for range 3 {
			wantThrottled(t, modify(ctx, f), opModifyDefaults)
		}
		if n := f.Throttled(opModifyDefaults); n != 0 {
			t.Errorf("Throttled = %d after injected failures, want 0", n)
		}
		for i := range 2 {
			if err := modify(ctx, f); err != nil {
				t.Fatalf("call %d: %v", i+1, err)
			}
		}
		wantThrottled(t, modify(ctx, f), opModifyDefaults)
		if n, calls := f.Throttled(opModifyDefaults), f.Calls(opModifyDefaults); n != 1 || calls != 7 {
			t.Errorf("Throttled = %d, Calls = %d; want 1 and 7", n, calls)
		}

		// Throttling comes before permissions: denied calls take tokens.
		f = fake.New(throttle)
		f.Deny(opModifyDefaults)
		for range 2 {
			wantCode(t, modify(ctx, f), opModifyDefaults, "UnauthorizedOperation", 403)
		}
		wantThrottled(t, modify(ctx, f), opModifyDefaults)

		// Dry runs take tokens too.
		f = fake.New(throttle)
		for range 2 {
			_, err := f.ModifyInstanceMetadataDefaults(ctx, &ec2.ModifyInstanceMetadataDefaultsInput{DryRun: aws.Bool(true)})
			wantCode(t, err, opModifyDefaults, "DryRunOperation", 412)
		}
		wantThrottled(t, modify(ctx, f), opModifyDefaults)
	})
}

func TestThrottleCustomBuckets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := fake.New(throttle, func(o *fake.Options) {
			o.Buckets.ModifyInstanceMetadataDefaults = fake.Bucket{Size: 3} // never refills
			o.Buckets.DescribeUnfiltered = fake.Bucket{}                    // no limit
		})
		for i := range 3 {
			if _, err := f.ModifyInstanceMetadataDefaults(ctx, &ec2.ModifyInstanceMetadataDefaultsInput{}); err != nil {
				t.Fatalf("call %d: %v", i+1, err)
			}
		}
		time.Sleep(time.Hour)
		_, err := f.ModifyInstanceMetadataDefaults(ctx, &ec2.ModifyInstanceMetadataDefaultsInput{})
		wantThrottled(t, err, opModifyDefaults)
		for i := range 1000 {
			if _, err := f.DescribeInstances(ctx, nil); err != nil {
				t.Fatalf("DescribeInstances %d: %v", i+1, err)
			}
		}

		// A resource bucket of 10 that never refills: 10 instances in all.
		f = fake.New(throttle, func(o *fake.Options) { o.Buckets.RunInstancesResources = fake.Bucket{Size: 10} })
		image := aws.ToString(describe(t, f, seedOne(t, f)).ImageId)
		run := func(n int32) error {
			_, err := f.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(image), MinCount: aws.Int32(n), MaxCount: aws.Int32(n)})
			return err
		}
		if err := run(10); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Hour)
		wantThrottled(t, run(1), "RunInstances")
	})
}

// TestThrottleConcurrent checks under the race detector that concurrent
// callers share one bucket: in a bubble no time passes while they run, so
// exactly the bucket's size succeed.
func TestThrottleConcurrent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := fake.New(throttle)
		id := seedOne(t, f)
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			ok, shed int
		)
		for range 20 {
			wg.Go(func() {
				for range 10 {
					_, err := f.ModifyInstanceMetadataOptions(ctx, &ec2.ModifyInstanceMetadataOptionsInput{InstanceId: aws.String(id), HttpTokens: "required"})
					mu.Lock()
					if err == nil {
						ok++
					} else if code(err) == "RequestLimitExceeded" {
						shed++
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if ok != 100 || shed != 100 || f.Throttled(opModifyOptions) != 100 {
			t.Errorf("%d succeeded, %d throttled (Throttled %d); want 100 and 100", ok, shed, f.Throttled(opModifyOptions))
		}
	})
}

// TestUnthrottled: calls made inside Unthrottled take no token, also those
// an AutoScaling makes for its groups, and are never throttled; the
// buckets are as full afterwards as before.
func TestUnthrottled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := fake.New(throttle)
		a := fake.NewAutoScaling(f)
		image := aws.ToString(describe(t, f, seedOne(t, f)).ImageId)
		run := func() error {
			_, err := f.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(image), MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
			return err
		}
		f.Unthrottled(func() {
			for i := range 20 {
				if err := run(); err != nil {
					t.Fatalf("RunInstances %d: %v", i+1, err)
				}
			}
			lt := createTemplate(t, f, "web", &types.RequestLaunchTemplateData{ImageId: aws.String(image)})
			for i := range 10 {
				if _, err := a.CreateAutoScalingGroup(ctx, templateGroup(fmt.Sprintf("g%d", i), lt, "", 1)); err != nil {
					t.Fatal(err)
				}
				if n := len(group(t, a, fmt.Sprintf("g%d", i)).Instances); n != 1 {
					t.Fatalf("group %d launched %d instances, want 1", i, n)
				}
			}
		})
		if n := f.Throttled("RunInstances"); n != 0 {
			t.Errorf("Throttled = %d, want 0", n)
		}
		for i := range 5 {
			if err := run(); err != nil {
				t.Fatalf("RunInstances %d after Unthrottled: %v", i+1, err)
			}
		}
		wantThrottled(t, run(), "RunInstances")
	})
}
