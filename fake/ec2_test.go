package fake_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go"

	"github.com/imdsopts/imdsopts/fake"
)

func TestFailNext(t *testing.T) {
	f := fake.New(func(o *fake.Options) { o.ApplyDelay = 0 })
	img := register(t, f, "img", "")
	id := aws.ToString(launch(t, f, img, 1)[0].InstanceId)
	modify := func() error {
		_, err := f.ModifyInstanceMetadataOptions(ctx, &ec2.ModifyInstanceMetadataOptionsInput{InstanceId: aws.String(id), HttpTokens: "required"})
		return err
	}

	f.FailNext("ModifyInstanceMetadataOptions", 2, fake.NewAPIError(503, "RequestLimitExceeded", "Request limit exceeded."))
	f.FailNext("ModifyInstanceMetadataOptions", 1, fake.NewAPIError(500, "InternalError", "An internal error has occurred."))
	f.FailNext("ModifyInstanceMetadataOptions", 0, errors.New("ignored"))
	for range 2 {
		wantCode(t, modify(), "ModifyInstanceMetadataOptions", "RequestLimitExceeded", 503)
	}
	err := modify()
	wantCode(t, err, "ModifyInstanceMetadataOptions", "InternalError", 500)
	var apiErr smithy.APIError
	if errors.As(err, &apiErr); apiErr.ErrorFault() != smithy.FaultServer {
		t.Errorf("fault %v, want server", apiErr.ErrorFault())
	}
	if md := describe(t, f, id).MetadataOptions; md.HttpTokens != "optional" {
		t.Errorf("failed calls had an effect: %s", show(md))
	}
	if err := modify(); err != nil {
		t.Errorf("after the injected failures: %v", err)
	}
	if md := describe(t, f, id).MetadataOptions; md.HttpTokens != "required" {
		t.Errorf("successful call had no effect: %s", show(md))
	}
	if n := f.Calls("ModifyInstanceMetadataOptions"); n != 4 {
		t.Errorf("Calls = %d, want 4", n)
	}

	// Failed launches launch nothing; other operations are unaffected.
	f.FailNext("RunInstances", 1, nil)
	_, err = f.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(img), MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
	wantCode(t, err, "RunInstances", "InternalError", 500)
	if out, err := f.DescribeInstances(ctx, nil); err != nil || len(ids(out)) != 1 {
		t.Errorf("after failed launch: %v, %v", ids(out), err)
	}

	// Errors that are already OperationErrors come back as they are; others
	// are wrapped.
	own := &smithy.OperationError{ServiceID: "EC2", OperationName: "DescribeInstances", Err: errors.New("boom")}
	f.FailNext("DescribeInstances", 1, own)
	if _, err := f.DescribeInstances(ctx, nil); err != own {
		t.Errorf("got %v, want the injected OperationError itself", err)
	}
	plain := errors.New("connection reset")
	f.FailNext("DescribeInstances", 1, plain)
	_, err = f.DescribeInstances(ctx, nil)
	var oe *smithy.OperationError
	if !errors.As(err, &oe) || oe.OperationName != "DescribeInstances" || !errors.Is(err, plain) {
		t.Errorf("got %v, want %v wrapped in an OperationError", err, plain)
	}
}

func TestDenyAndDryRun(t *testing.T) {
	f := fake.New()
	img := register(t, f, "img", "")
	id := aws.ToString(launch(t, f, img, 1)[0].InstanceId)
	yes := aws.Bool(true)

	calls := map[string]func(dry *bool) error{
		"RunInstances": func(dry *bool) error {
			_, err := f.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(img), MinCount: aws.Int32(1), MaxCount: aws.Int32(1), DryRun: dry})
			return err
		},
		"StartInstances": func(dry *bool) error {
			_, err := f.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{id}, DryRun: dry})
			return err
		},
		"StopInstances": func(dry *bool) error {
			_, err := f.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}, DryRun: dry})
			return err
		},
		"TerminateInstances": func(dry *bool) error {
			_, err := f.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}, DryRun: dry})
			return err
		},
		"DescribeInstances": func(dry *bool) error {
			_, err := f.DescribeInstances(ctx, &ec2.DescribeInstancesInput{DryRun: dry})
			return err
		},
		"RegisterImage": func(dry *bool) error {
			_, err := f.RegisterImage(ctx, &ec2.RegisterImageInput{Name: aws.String("other"), DryRun: dry})
			return err
		},
		"DescribeImages": func(dry *bool) error {
			_, err := f.DescribeImages(ctx, &ec2.DescribeImagesInput{DryRun: dry})
			return err
		},
		"GetInstanceMetadataDefaults": func(dry *bool) error {
			_, err := f.GetInstanceMetadataDefaults(ctx, &ec2.GetInstanceMetadataDefaultsInput{DryRun: dry})
			return err
		},
		"ModifyInstanceMetadataDefaults": func(dry *bool) error {
			_, err := f.ModifyInstanceMetadataDefaults(ctx, &ec2.ModifyInstanceMetadataDefaultsInput{HttpTokens: "required", DryRun: dry})
			return err
		},
		"ModifyInstanceMetadataOptions": func(dry *bool) error {
			_, err := f.ModifyInstanceMetadataOptions(ctx, &ec2.ModifyInstanceMetadataOptionsInput{InstanceId: aws.String(id), HttpTokens: "required", DryRun: dry})
			return err
		},
	}
	before := snapshot(t, f)
	for op, call := range calls {
		wantCode(t, call(yes), op, "DryRunOperation", 412)
	}
	if after := snapshot(t, f); after != before {
		t.Errorf("dry runs changed state:\n%s\nwant\n%s", after, before)
	}
	for op, call := range calls {
		f.Deny(op)
		for _, dry := range []*bool{nil, yes} {
			err := call(dry)
			wantCode(t, err, op, "UnauthorizedOperation", 403)
			var apiErr smithy.APIError
			if errors.As(err, &apiErr); apiErr.ErrorMessage() != "You are not authorized to perform this operation." {
				t.Errorf("%s: message %q", op, apiErr.ErrorMessage())
			}
		}
	}
	counts := f.CallCounts()
	for op := range calls {
		want := 3 // one dry run, two denied calls
		switch op {
		case "RegisterImage", "RunInstances":
			want++ // setting up
		case "DescribeInstances", "GetInstanceMetadataDefaults", "DescribeImages":
			want += 2 // two snapshots
		}
		if counts[op] != want || f.Calls(op) != want {
			t.Errorf("%s: %d calls counted, want %d", op, counts[op], want)
		}
	}
	counts["RunInstances"] = 100
	if f.Calls("RunInstances") == 100 {
		t.Error("CallCounts returned the fake's own map")
	}
}

// snapshot describes the fake's whole state.
func snapshot(t *testing.T, f *fake.EC2) string {
	t.Helper()
	out, err := f.DescribeInstances(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := ""
	for _, r := range out.Reservations {
		for _, i := range r.Instances {
			s += fmt.Sprintf("%s %s %s\n", aws.ToString(i.InstanceId), i.State.Name, show(i.MetadataOptions))
		}
	}
	d, err := f.GetInstanceMetadataDefaults(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	imgs, err := f.DescribeImages(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s + fmt.Sprintf("defaults %q %d, %d images", d.AccountLevel.HttpTokens, aws.ToInt32(d.AccountLevel.HttpPutResponseHopLimit), len(imgs.Images))
}

func TestCanceledContext(t *testing.T) {
	f := fake.New()
	c, cancel := context.WithCancel(ctx)
	cancel()
	f.FailNext("DescribeInstances", 1, nil)
	_, err := f.DescribeInstances(c, nil)
	var ce *smithy.CanceledError
	if !errors.As(err, &ce) || !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want a CanceledError", err)
	}
	if _, err := f.DescribeInstances(ctx, nil); code(err) != "InternalError" {
		t.Errorf("the injected fault was used up by a canceled call: %v", err)
	}
}

func TestConcurrentUse(t *testing.T) {
	f := fake.New(func(o *fake.Options) { o.ApplyDelay = 0 })
	img := register(t, f, "img", "v2.0")
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for n := range 20 {
				out, err := f.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(img), MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
				if err != nil {
					t.Error(err)
					return
				}
				id := out.Instances[0].InstanceId
				if _, err := f.ModifyInstanceMetadataOptions(ctx, &ec2.ModifyInstanceMetadataOptionsInput{InstanceId: id, HttpPutResponseHopLimit: aws.Int32(int32(w + 1))}); err != nil {
					t.Error(err)
				}
				if n%5 == 0 {
					if _, err := f.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{*id}}); err != nil {
						t.Error(err)
					}
				}
				if _, err := f.DescribeInstances(ctx, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5)}); err != nil {
					t.Error(err)
				}
				f.FailNext("GetInstanceMetadataDefaults", 1, nil)
				f.GetInstanceMetadataDefaults(ctx, nil)
				_ = f.CallCounts()
			}
		})
	}
	wg.Wait()
	out, err := f.DescribeInstances(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(ids(out)); n != 160 {
		t.Errorf("%d instances, want 160", n)
	}
	want := map[string]int{
		"RegisterImage": 1, "RunInstances": 160, "ModifyInstanceMetadataOptions": 160, "StopInstances": 32,
		"DescribeInstances": 161, "GetInstanceMetadataDefaults": 160,
	}
	if got := f.CallCounts(); !maps.Equal(got, want) {
		t.Errorf("CallCounts = %v, want %v", got, want)
	}
}
