package fake_test

import (
	"regexp"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts/fake"
)

// assertFilter fails the test unless DescribeInstances with the one filter
// name=values returns exactly want, in that order.
func assertFilter(t *testing.T, f *fake.EC2, name string, values any, want ...string) {
	t.Helper()
	var vs []string
	switch v := values.(type) {
	case string:
		vs = []string{v}
	case []string:
		vs = v
	}
	out, err := f.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []types.Filter{{Name: aws.String(name), Values: vs}}})
	if err != nil {
		t.Fatalf("filter %s=%v: %v", name, vs, err)
	}
	if got := ids(out); !slices.Equal(got, want) {
		t.Errorf("filter %s=%v: got %v, want %v", name, vs, got, want)
	}
}

func TestIDs(t *testing.T) {
	f := fake.New()
	img := register(t, f, "img", "")
	out, err := f.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(img), MinCount: aws.Int32(1), MaxCount: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ id, re string }{
		{img, `^ami-[0-9a-f]{17}$`},
		{aws.ToString(out.ReservationId), `^r-[0-9a-f]{17}$`},
		{aws.ToString(out.Instances[0].InstanceId), `^i-[0-9a-f]{17}$`},
	} {
		if !regexp.MustCompile(c.re).MatchString(c.id) {
			t.Errorf("ID %q does not match %s", c.id, c.re)
		}
	}
	if img != "ami-00000000000000001" || aws.ToString(out.Instances[1].InstanceId) != "i-00000000000000002" {
		t.Errorf("IDs are not deterministic: %s, %v", img, instanceIDs(out.Instances))
	}
	for n, inst := range out.Instances {
		if inst.State.Name != "running" || aws.ToInt32(inst.State.Code) != 16 || aws.ToString(inst.ImageId) != img ||
			inst.LaunchTime == nil || aws.ToInt32(inst.AmiLaunchIndex) != int32(n) {
			t.Errorf("instance %d: %+v", n, inst)
		}
	}
}

func TestLifecycle(t *testing.T) {
	f := fake.New()
	id := seedOne(t, f)
	state := func() types.InstanceStateName { return describe(t, f, id).State.Name }

	if _, err := f.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{id}}); err != nil || state() != "running" {
		t.Errorf("start running: %v, %s", err, state())
	}
	if _, err := f.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id, id}}); err != nil || state() != "stopped" {
		t.Errorf("stop: %v, %s", err, state())
	}
	if _, err := f.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}}); err != nil || state() != "stopped" {
		t.Errorf("stop stopped: %v, %s", err, state())
	}
	out, err := f.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	if c := out.TerminatingInstances[0]; aws.ToString(c.InstanceId) != id || c.PreviousState.Name != "stopped" ||
		c.CurrentState.Name != "terminated" || aws.ToInt32(c.CurrentState.Code) != 48 {
		t.Errorf("terminate: %+v", c)
	}
	if state() != "terminated" {
		t.Errorf("after terminate: %s", state())
	}
	if _, err := f.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}}); err != nil {
		t.Errorf("terminate terminated: %v", err)
	}
}

func TestPropagationDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := fake.New(func(o *fake.Options) { o.PropagationDelay = 3 * time.Second })
		id := seedOne(t, f)

		_, err := f.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
		wantCode(t, err, "DescribeInstances", "InvalidInstanceID.NotFound", 400)
		_, err = f.ModifyInstanceMetadataOptions(ctx, &ec2.ModifyInstanceMetadataOptionsInput{InstanceId: aws.String(id), HttpTokens: "required"})
		wantCode(t, err, "ModifyInstanceMetadataOptions", "InvalidInstanceID.NotFound", 400)
		if out, err := f.DescribeInstances(ctx, nil); err != nil || len(out.Reservations) != 0 {
			t.Errorf("listing before propagation: %v, %v", ids(out), err)
		}
		assertFilter(t, f, "instance-id", id)

		time.Sleep(3 * time.Second)
		describe(t, f, id)
		if _, err := f.ModifyInstanceMetadataOptions(ctx, &ec2.ModifyInstanceMetadataOptionsInput{InstanceId: aws.String(id), HttpTokens: "required"}); err != nil {
			t.Errorf("modify after propagation: %v", err)
		}
		assertFilter(t, f, "instance-id", id, id)
	})
}

// TestPropagate: the instances launched before Propagate are found at once;
// those launched after it wait for the delay.
func TestPropagate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := fake.New(func(o *fake.Options) { o.PropagationDelay = time.Hour })
		seeded := seedOne(t, f)
		f.Propagate()
		later := seedOne(t, f)
		describe(t, f, seeded)
		_, err := f.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{later}})
		wantCode(t, err, "DescribeInstances", "InvalidInstanceID.NotFound", 400)
		time.Sleep(time.Hour)
		describe(t, f, later)
	})
}

func TestFilters(t *testing.T) {
	f := fake.New(func(o *fake.Options) { o.ApplyDelay = time.Hour })
	plain := register(t, f, "plain", "")
	v2 := register(t, f, "v2", "v2.0")
	tag := func(kv ...string) func(*ec2.RunInstancesInput) {
		return func(in *ec2.RunInstancesInput) {
			var tags []types.Tag
			for n := 0; n < len(kv); n += 2 {
				tags = append(tags, types.Tag{Key: aws.String(kv[n]), Value: aws.String(kv[n+1])})
			}
			in.TagSpecifications = []types.TagSpecification{
				{ResourceType: "volume", Tags: []types.Tag{{Key: aws.String("vol"), Value: aws.String("x")}}},
				{ResourceType: "instance", Tags: tags},
			}
		}
	}
	a := aws.ToString(launch(t, f, plain, 1, tag("Name", "web-1", "team", "blue"))[0].InstanceId)
	b := aws.ToString(launch(t, f, v2, 1, tag("Name", "web-2"))[0].InstanceId)
	c := aws.ToString(launch(t, f, plain, 1, tag("Name", "db*1"), func(in *ec2.RunInstancesInput) {
		in.MetadataOptions = &types.InstanceMetadataOptionsRequest{
			HttpPutResponseHopLimit: aws.Int32(12), HttpEndpoint: "disabled", InstanceMetadataTags: "enabled",
		}
	})[0].InstanceId)
	d := aws.ToString(launch(t, f, v2, 1, func(in *ec2.RunInstancesInput) {
		in.MetadataOptions = &types.InstanceMetadataOptionsRequest{HttpProtocolIpv6: "enabled"}
	})[0].InstanceId)
	if _, err := f.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{c}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{d}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.ModifyInstanceMetadataOptions(ctx, &ec2.ModifyInstanceMetadataOptionsInput{InstanceId: aws.String(a), InstanceMetadataTags: "enabled"}); err != nil {
		t.Fatal(err)
	}

	assertFilter(t, f, "instance-id", b, b)
	assertFilter(t, f, "instance-id", []string{d, a}, a, d)
	assertFilter(t, f, "instance-id", "i-*", a, b, c, d)
	assertFilter(t, f, "instance-state-name", "running", a, b)
	assertFilter(t, f, "instance-state-name", []string{"stopped", "terminated"}, c, d)
	assertFilter(t, f, "image-id", v2, b, d)
	assertFilter(t, f, "tag:Name", "web-?", a, b)
	assertFilter(t, f, "tag:Name", "web-*", a, b)
	assertFilter(t, f, "tag:Name", `db\*1`, c)
	assertFilter(t, f, "tag:Name", "db*", c)
	assertFilter(t, f, "tag:Name", "WEB-1")
	assertFilter(t, f, "tag:team", "*", a)
	assertFilter(t, f, "tag:vol", "x")
	assertFilter(t, f, "tag-key", "team", a)
	assertFilter(t, f, "tag-key", "Na*", a, b, c)
	assertFilter(t, f, "metadata-options.http-tokens", "required", b, d)
	assertFilter(t, f, "metadata-options.http-tokens", "optional", a, c)
	assertFilter(t, f, "metadata-options.http-endpoint", "disabled", c)
	assertFilter(t, f, "metadata-options.http-put-response-hop-limit", "2", b, d)
	assertFilter(t, f, "metadata-options.http-put-response-hop-limit", []string{"1", "12"}, a, c)
	assertFilter(t, f, "metadata-options.http-put-response-hop-limit", "1?", c)
	assertFilter(t, f, "metadata-options.http-protocol-ipv6", "enabled", d)
	assertFilter(t, f, "metadata-options.http-protocol-ipv4", "enabled", a, b, d)
	assertFilter(t, f, "metadata-options.http-protocol-ipv4", "disabled", c)
	assertFilter(t, f, "metadata-options.instance-metadata-tags", "enabled", a, c)
	assertFilter(t, f, "metadata-options.state", "pending", a)
	assertFilter(t, f, "metadata-options.state", "applied", b, c, d)

	// Filters are ANDed, and InstanceIds restricts them further.
	out, err := f.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []types.Filter{
		{Name: aws.String("metadata-options.http-tokens"), Values: []string{"optional"}},
		{Name: aws.String("instance-state-name"), Values: []string{"running", "stopped"}},
		{Name: aws.String("tag:Name"), Values: []string{"db*", "nothing"}},
	}})
	if err != nil || !slices.Equal(ids(out), []string{c}) {
		t.Errorf("ANDed filters: %v, %v; want [%s]", ids(out), err, c)
	}
	out, err = f.DescribeInstances(ctx, &ec2.DescribeInstancesInput{
		InstanceIds: []string{b, a},
		Filters:     []types.Filter{{Name: aws.String("metadata-options.http-tokens"), Values: []string{"required"}}},
	})
	if err != nil || !slices.Equal(ids(out), []string{b}) {
		t.Errorf("InstanceIds with filter: %v, %v; want [%s]", ids(out), err, b)
	}
}

func TestPaging(t *testing.T) {
	f := fake.New()
	img := register(t, f, "img", "")
	var want []string
	for _, n := range []int32{3, 1, 4, 4} { // 12 instances in 4 reservations
		want = append(want, instanceIDs(launch(t, f, img, n))...)
	}
	all, err := f.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids(all), want) || all.NextToken != nil || len(all.Reservations) != 4 {
		t.Fatalf("one page: %v (%d reservations, token %v), want %v", ids(all), len(all.Reservations), all.NextToken, want)
	}

	var got []string
	in := &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5)}
	pages := 0
	for p := ec2.NewDescribeInstancesPaginator(f, in); p.HasMorePages(); {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(ids(out)); n > 5 {
			t.Errorf("page of %d instances", n)
		}
		for _, r := range out.Reservations {
			if len(r.Instances) == 0 {
				t.Error("empty reservation in page")
			}
		}
		got = append(got, ids(out)...)
		pages++
	}
	if !slices.Equal(got, want) || pages != 3 {
		t.Errorf("paged in %d pages: %v, want %v in 3", pages, got, want)
	}

	// Paging honours filters and groups by reservation within a page.
	out, err := f.DescribeInstances(ctx, &ec2.DescribeInstancesInput{
		MaxResults: aws.Int32(5),
		Filters:    []types.Filter{{Name: aws.String("instance-id"), Values: want[2:9]}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids(out), want[2:7]) || len(out.Reservations) != 3 || out.NextToken == nil {
		t.Fatalf("filtered page: %v in %d reservations, want %v in 3", ids(out), len(out.Reservations), want[2:7])
	}
	out, err = f.DescribeInstances(ctx, &ec2.DescribeInstancesInput{
		MaxResults: aws.Int32(5),
		NextToken:  out.NextToken,
		Filters:    []types.Filter{{Name: aws.String("instance-id"), Values: want[2:9]}},
	})
	if err != nil || !slices.Equal(ids(out), want[7:9]) || out.NextToken != nil {
		t.Errorf("second filtered page: %v, %v, token %v; want %v", ids(out), err, out.NextToken, want[7:9])
	}
}

func TestResultsAreCopies(t *testing.T) {
	f := fake.New()
	img := register(t, f, "img", "")
	inst := launch(t, f, img, 1, func(in *ec2.RunInstancesInput) {
		in.TagSpecifications = []types.TagSpecification{{ResourceType: "instance", Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}}
	})[0]
	id := aws.ToString(inst.InstanceId)
	*inst.MetadataOptions.HttpPutResponseHopLimit = 50
	*inst.Tags[0].Value = "changed"
	inst.State.Name = "stopped"
	got := describe(t, f, id)
	if aws.ToInt32(got.MetadataOptions.HttpPutResponseHopLimit) != 1 || aws.ToString(got.Tags[0].Value) != "v" || got.State.Name != "running" {
		t.Errorf("mutating a RunInstances result changed the fake: %+v", got)
	}
	*got.Tags[0].Key = "other"
	assertFilter(t, f, "tag:k", "v", id)
}

func TestDescribeImages(t *testing.T) {
	f := fake.New()
	a := register(t, f, "a", "")
	b := register(t, f, "b", "v2.0")
	out, err := f.DescribeImages(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Images) != 2 || aws.ToString(out.Images[0].ImageId) != a || aws.ToString(out.Images[1].Name) != "b" ||
		out.Images[1].ImdsSupport != "v2.0" || out.Images[0].ImdsSupport != "" || out.Images[0].State != "available" {
		t.Errorf("all images: %+v", out.Images)
	}
	out, err = f.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{b}})
	if err != nil || len(out.Images) != 1 || aws.ToString(out.Images[0].ImageId) != b {
		t.Errorf("image %s: %+v, %v", b, out, err)
	}
	out, err = f.DescribeImages(ctx, &ec2.DescribeImagesInput{Filters: []types.Filter{{Name: aws.String("imds-support"), Values: []string{"v2.0"}}}})
	if err != nil || len(out.Images) != 1 || aws.ToString(out.Images[0].ImageId) != b {
		t.Errorf("filter imds-support: %+v, %v", out, err)
	}
}
