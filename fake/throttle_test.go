package fake_test

import (
	"context"
	"errors"
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
	want := fake.Buckets{
		ModifyInstanceMetadataOptions:  fake.Bucket{Size: 100, Refill: 5},
		ModifyInstanceMetadataDefaults: fake.Bucket{Size: 2, Refill: 2},
		Describe:                       fake.Bucket{Size: 100, Refill: 20},
		DescribeUnfiltered:             fake.Bucket{Size: 50, Refill: 10},
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

func TestThrottleDescribeBuckets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := fake.New(throttle)
		img := register(t, f, "img", "")
		id := aws.ToString(launch(t, f, img, 1)[0].InstanceId)

		unfiltered := map[string]func() error{
			"DescribeInstances(nil)": func() error { _, err := f.DescribeInstances(ctx, nil); return err },
			"DescribeInstances(InstanceIds)": func() error {
				_, err := f.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
				return err
			},
			"DescribeInstances(empty Filters)": func() error {
				_, err := f.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []types.Filter{}})
				return err
			},
			"DescribeImages(ImageIds)": func() error {
				_, err := f.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{img}})
				return err
			},
			"GetInstanceMetadataDefaults": func() error {
				_, err := f.GetInstanceMetadataDefaults(ctx, &ec2.GetInstanceMetadataDefaultsInput{})
				return err
			},
		}
		filtered := map[string]func() error{
			"DescribeInstances(Filters)": func() error {
				_, err := f.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []types.Filter{{Name: aws.String("instance-state-name"), Values: []string{"running"}}}})
				return err
			},
			"DescribeInstances(MaxResults)": func() error {
				_, err := f.DescribeInstances(ctx, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5)})
				return err
			},
			"DescribeImages(Filters)": func() error {
				_, err := f.DescribeImages(ctx, &ec2.DescribeImagesInput{Filters: []types.Filter{{Name: aws.String("name"), Values: []string{"img"}}}})
				return err
			},
		}
		opOf := map[string]string{
			"DescribeInstances(nil)":           opDescribe,
			"DescribeInstances(InstanceIds)":   opDescribe,
			"DescribeInstances(empty Filters)": opDescribe,
			"DescribeImages(ImageIds)":         opImages,
			"GetInstanceMetadataDefaults":      opGetDefaults,
			"DescribeInstances(Filters)":       opDescribe,
			"DescribeInstances(MaxResults)":    opDescribe,
			"DescribeImages(Filters)":          opImages,
		}

		// drain calls the given kinds of call in turn until one is throttled
		// and returns how many succeeded; then every kind must be throttled.
		drain := func(calls map[string]func() error) int {
			t.Helper()
			n := 0
			for n <= 1000 {
				for name, call := range calls {
					if err := call(); err != nil {
						wantThrottled(t, err, opOf[name])
						for name, call := range calls {
							wantThrottled(t, call(), opOf[name])
						}
						return n
					}
					n++
				}
			}
			t.Fatal("never throttled")
			return n
		}

		// The unfiltered calls share the bucket of 50; the filtered bucket
		// stays full.
		if n := drain(unfiltered); n != 50 {
			t.Errorf("%d unfiltered calls succeeded, want 50", n)
		}
		if n := drain(filtered); n != 100 {
			t.Errorf("%d filtered calls succeeded, want 100", n)
		}

		// Paginated calls with a NextToken take from the filtered bucket,
		// which is empty now.
		_, err := f.DescribeInstances(ctx, &ec2.DescribeInstancesInput{NextToken: aws.String("token")})
		wantThrottled(t, err, opDescribe)

		// Mutating calls without a modelled bucket are never throttled.
		if _, err := f.RegisterImage(ctx, &ec2.RegisterImageInput{Name: aws.String("img2")}); err != nil {
			t.Errorf("RegisterImage: %v", err)
		}
		if _, err := f.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}}); err != nil {
			t.Errorf("StopInstances: %v", err)
		}

		// A second refills 10 unfiltered and 20 filtered tokens.
		time.Sleep(time.Second)
		if n := drain(unfiltered); n != 10 {
			t.Errorf("after 1s, %d unfiltered calls succeeded, want 10", n)
		}
		if n := drain(filtered); n != 20 {
			t.Errorf("after 1s, %d filtered calls succeeded, want 20", n)
		}
		total := f.Throttled(opDescribe) + f.Throttled(opImages) + f.Throttled(opGetDefaults)
		// Each drain ends with one throttled call plus one per kind.
		if want := 2*(1+len(unfiltered)) + 2*(1+len(filtered)) + 1; total != want {
			t.Errorf("Throttled in total = %d, want %d", total, want)
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
