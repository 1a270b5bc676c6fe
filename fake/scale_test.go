package fake_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts/fake"
)

// bigFleet returns a fake with n running instances, launched 100 at a time,
// every seventh hundred tagged team=a and the others team=b, and their IDs
// in launch order.
func bigFleet(tb testing.TB, n int) (*fake.EC2, []string) {
	tb.Helper()
	f := fake.New()
	image, err := f.RegisterImage(ctx, &ec2.RegisterImageInput{Name: aws.String("fleet")})
	if err != nil {
		tb.Fatal(err)
	}
	all := make([]string, 0, n)
	for k := 0; len(all) < n; k++ {
		team := "b"
		if k%7 == 6 {
			team = "a"
		}
		all = append(all, seed(tb, f, min(100, n-len(all)), func(o *fake.LaunchOptions) {
			o.ImageID = *image.ImageId
			o.Tags = map[string]string{"team": team}
		})...)
	}
	return f, all
}

// pick returns k distinct IDs of all, chosen at random with a fixed seed.
func pick(all []string, k int, seed uint64) []string {
	r := rand.New(rand.NewPCG(seed, 0))
	p := r.Perm(len(all))[:k]
	ids := make([]string, k)
	for n, i := range p {
		ids[n] = all[i]
	}
	return ids
}

// inLaunchOrder returns ids sorted as all lists them.
func inLaunchOrder(all, ids []string) []string {
	pos := make(map[string]int, len(all))
	for n, id := range all {
		pos[id] = n
	}
	s := slices.Clone(ids)
	slices.SortFunc(s, func(a, b string) int { return pos[a] - pos[b] })
	return s
}

// describeAll pages through DescribeInstances and returns every ID it lists.
func describeAll(t *testing.T, f *fake.EC2, in *ec2.DescribeInstancesInput) []string {
	t.Helper()
	var got []string
	for p := ec2.NewDescribeInstancesPaginator(f, in); p.HasMorePages(); {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ids(out)...)
	}
	return got
}

// TestDescribeInstancesAtScale checks the answers of ID look-ups, and of the
// instance-id filter with paging, over a fleet of 100,000 instances: the
// index that makes them cheap must not change what they answer.
func TestDescribeInstancesAtScale(t *testing.T) {
	const n = 100_000
	f, all := bigFleet(t, n)
	pos := make(map[string]int, n)
	for k, id := range all {
		pos[id] = k
	}
	teamA := func(id string) bool { return pos[id]/100%7 == 6 }
	stopped := pick(all, 50, 2)
	if _, err := f.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: stopped}); err != nil {
		t.Fatal(err)
	}

	// InstanceIds: every named instance, each once, in launch order, with
	// its own state.
	named := pick(all, 1000, 1)
	out, err := f.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: append(named, named[:10]...)})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(out), inLaunchOrder(all, named); !slices.Equal(got, want) {
		t.Fatalf("InstanceIds: got %d IDs, want %d in launch order", len(got), len(want))
	}
	for _, r := range out.Reservations {
		for _, i := range r.Instances {
			if want := slices.Contains(stopped, *i.InstanceId); (i.State.Name == "stopped") != want {
				t.Errorf("%s: %s", *i.InstanceId, i.State.Name)
			}
		}
	}
	_, err = f.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{all[5], "i-0ffffffffffffffff"}})
	wantCode(t, err, "DescribeInstances", "InvalidInstanceID.NotFound", 400)

	// The instance-id filter with 200 literal values, unknown IDs among
	// them, alone and ANDed with other filters, paged by 50.
	values := append(pick(all, 198, 3), "i-0ffffffffffffffff", "i-0fffffff")
	in := func(vs []string) func(string) bool { return func(id string) bool { return slices.Contains(vs, id) } }
	for _, tt := range []struct {
		name    string
		filters []types.Filter
		match   func(id string) bool
	}{
		{"instance-id", []types.Filter{{Name: aws.String("instance-id"), Values: values}}, in(values)},
		{"instance-id and tag", []types.Filter{
			{Name: aws.String("tag:team"), Values: []string{"a"}},
			{Name: aws.String("instance-id"), Values: values},
		}, func(id string) bool { return in(values)(id) && teamA(id) }},
		{"instance-id and state", []types.Filter{
			{Name: aws.String("instance-id"), Values: values},
			{Name: aws.String("instance-state-name"), Values: []string{"running"}},
		}, func(id string) bool { return in(values)(id) && !slices.Contains(stopped, id) }},
		{"two instance-id filters", []types.Filter{
			{Name: aws.String("instance-id"), Values: values},
			{Name: aws.String("instance-id"), Values: values[:20]},
		}, in(values[:20])},
		{"instance-id with a wildcard", []types.Filter{
			{Name: aws.String("instance-id"), Values: append(slices.Clone(values[:30]), "i-0000000000000ff0?")},
		}, func(id string) bool { return in(values[:30])(id) || id[:len(id)-1] == "i-0000000000000ff0" }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var want []string
			for _, id := range all {
				if tt.match(id) {
					want = append(want, id)
				}
			}
			if len(want) < 10 {
				t.Fatalf("only %d instances match: a weak test", len(want))
			}
			got := describeAll(t, f, &ec2.DescribeInstancesInput{Filters: tt.filters, MaxResults: aws.Int32(50)})
			if !slices.Equal(got, want) {
				t.Errorf("got %d IDs, want %d:\ngot  %v\nwant %v", len(got), len(want), got, want)
			}
		})
	}
}

// BenchmarkDescribeInstances measures a look-up of 1,000 instances, by
// InstanceIds in one call and by instance-id filters of 200 values in five
// calls, over fleets of 10,000 and 100,000 instances. The cost per look-up
// must not grow with the fleet.
func BenchmarkDescribeInstances(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		f, all := bigFleet(b, n)
		named := pick(all, 1000, 1)
		b.Run(fmt.Sprintf("fleet=%d/InstanceIds=1000", n), func(b *testing.B) {
			in := &ec2.DescribeInstancesInput{InstanceIds: named}
			for b.Loop() {
				out, err := f.DescribeInstances(ctx, in)
				if err != nil || len(out.Reservations) == 0 {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("fleet=%d/instance-id=5x200", n), func(b *testing.B) {
			for b.Loop() {
				for k := 0; k < len(named); k += 200 {
					out, err := f.DescribeInstances(ctx, &ec2.DescribeInstancesInput{
						Filters:    []types.Filter{{Name: aws.String("instance-id"), Values: named[k : k+200]}},
						MaxResults: aws.Int32(1000),
					})
					if err != nil || len(out.Reservations) == 0 {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
