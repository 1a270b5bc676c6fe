package account_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/account"
	"github.com/imdsopts/imdsopts/fake"
	"github.com/imdsopts/imdsopts/internal/testenv"
)

// mixedAccount builds an account with one launch path of each kind: the
// comments say which would fail under enforcement (with no account
// default for HttpTokens).
func mixedAccount(t *testing.T, w *world) {
	plain, v2 := w.Image(t, "plain", ""), w.Image(t, "al2023", types.ImdsSupportValuesV20)
	// "api": version 1 optional (default), version 2 required (latest).
	api := w.Template(t, "api", plain, tokens("optional"), tokens("required"))
	w.Group(t, "api-pinned", api, "1", 1)       // fails: pinned to optional version 1
	w.Group(t, "api-latest", api, "$Latest", 1) // fine
	// "batch": default version 1 inherits from a v2.0 AMI: fine; latest
	// version 2 says optional and no group launches it: fails.
	batch := w.Template(t, "batch", v2, nil, tokens("optional"))
	w.Group(t, "batch", batch, "$Default", 1)
	// "web": one version with no HttpTokens on a plain AMI: fails for its
	// groups, once as their version.
	web := w.Template(t, "web", plain, nil)
	w.Group(t, "web-a", web, "$Default", 1)
	w.Group(t, "web-b", web, "1", 0)
	// "worker": version 2 is the default and required; version 1 is
	// optional but nothing launches it: fine.
	worker := w.Template(t, "worker", plain, tokens("optional"), tokens("required"))
	w.SetDefault(t, worker, 2)
	// Launch configurations: "legacy" used by a group, optional; "old"
	// unused, on the plain AMI; "good" required.
	w.ConfigGroup(t, "legacy", plain, &astypes.InstanceMetadataOptions{HttpTokens: "optional"}, 1)
	w.ConfigGroup(t, "good", plain, &astypes.InstanceMetadataOptions{HttpTokens: "required"}, 1)
	if _, err := w.AS.CreateLaunchConfiguration(t.Context(), &autoscaling.CreateLaunchConfigurationInput{
		LaunchConfigurationName: aws.String("old"), ImageId: aws.String(plain), InstanceType: aws.String("t3.micro")}); err != nil {
		t.Fatal(err)
	}
}

func TestCheckReadiness(t *testing.T) {
	w := newWorld(t)
	mixedAccount(t, w)
	before := w.Calls()
	r, err := account.CheckReadiness(t.Context(), w.clients(), mustDefaults(t, imdsopts.Set{}, account.EnforceIMDSv2()))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"group-launch-template launch template api (lt-00000000000000001) version 1, group api-pinned",
		"group-launch-template launch template web (lt-00000000000000003) version 1, with AMI ami-00000000000000001, groups web-a, web-b",
		"group-launch-configuration launch configuration legacy, group legacy",
		"launch-template-latest-version launch template batch (lt-00000000000000002) version 2",
		"launch-configuration launch configuration old",
		"account-default the account",
	}
	if got := kinds(r.Blockers); !slices.Equal(got, want) {
		t.Errorf("blockers:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if r.Ready || r.Target.Account != fake.AccountID || r.Target.Region != "us-east-1" || !r.Defaults.Enforced() {
		t.Errorf("readiness = %+v", r)
	}
	for _, b := range r.Blockers {
		if b.Reason == "" || b.Fix == "" {
			t.Errorf("blocker %v lacks a reason or a fix", b)
		}
	}
	// Instances that allow IMDSv1 are listed, not blockers: those of
	// api-pinned, web-a and legacy.
	if len(r.AllowIMDSv1) != 3 {
		t.Errorf("AllowIMDSv1 = %v, want 3 instances", r.AllowIMDSv1)
	}
	if !strings.HasSuffix(r.Blockers[0].Reason, "it is also the template's default version") {
		t.Errorf("api's version 1 blocker does not say it is the default: %q", r.Blockers[0].Reason)
	}

	after := w.Calls()
	for _, op := range []string{"ModifyInstanceMetadataDefaults", "CreateLaunchTemplateVersion", "ModifyLaunchTemplate", "RunInstances"} {
		if after[op] != before[op] {
			t.Errorf("a readiness check called %s", op)
		}
	}

	// With the account default required, everything that gives no
	// HttpTokens is fine; what says optional still fails.
	r, err = account.CheckReadiness(t.Context(), w.clients(), mustDefaults(t, mustSet(t, imdsopts.HTTPTokens("required")), account.EnforceIMDSv2()))
	if err != nil {
		t.Fatal(err)
	}
	want = []string{
		"group-launch-template launch template api (lt-00000000000000001) version 1, group api-pinned",
		"group-launch-configuration launch configuration legacy, group legacy",
		"launch-template-latest-version launch template batch (lt-00000000000000002) version 2",
	}
	if got := kinds(r.Blockers); !slices.Equal(got, want) {
		t.Errorf("with the account default required, blockers:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestReadinessAgreesWithEnforcement: every launch the readiness check
// calls a blocker fails once the account enforces IMDSv2, and every other
// one succeeds: each template's default and latest version by
// RunInstances, each group by scaling it out.
func TestReadinessAgreesWithEnforcement(t *testing.T) {
	for _, acctTokens := range []types.MetadataDefaultHttpTokensState{"no-preference", "required", "optional"} {
		t.Run(string(acctTokens), func(t *testing.T) {
			w := newWorld(t)
			mixedAccount(t, w)
			w.SetAccountDefaults(t, &ec2.ModifyInstanceMetadataDefaultsInput{HttpTokens: acctTokens})
			r, err := account.CheckReadiness(t.Context(), w.clients(), mustDefaults(t, imdsopts.Set{}, account.EnforceIMDSv2()))
			if err != nil {
				t.Fatal(err)
			}
			blocked := map[string]bool{}
			for _, b := range r.Blockers {
				if b.LaunchTemplateID != "" {
					blocked[fmt.Sprintf("%s/%d", b.LaunchTemplateID, b.VersionNumber)] = true
				}
				for _, g := range b.AutoScalingGroupNames {
					blocked["group "+g] = true
				}
			}
			w.SetAccountDefaults(t, &ec2.ModifyInstanceMetadataDefaultsInput{HttpTokensEnforced: "enabled"})
			lts, err := w.EC2.DescribeLaunchTemplates(t.Context(), &ec2.DescribeLaunchTemplatesInput{})
			if err != nil {
				t.Fatal(err)
			}
			for _, lt := range lts.LaunchTemplates {
				for _, n := range []int64{aws.ToInt64(lt.DefaultVersionNumber), aws.ToInt64(lt.LatestVersionNumber)} {
					_, err := w.EC2.RunInstances(t.Context(), &ec2.RunInstancesInput{MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
						LaunchTemplate: &types.LaunchTemplateSpecification{LaunchTemplateId: lt.LaunchTemplateId, Version: aws.String(fmt.Sprint(n))}})
					key := fmt.Sprintf("%s/%d", aws.ToString(lt.LaunchTemplateId), n)
					if failed := testenv.APICode(err) == "UnsupportedOperation"; failed != blocked[key] {
						t.Errorf("%s: launch error %v, blocker %v", key, err, blocked[key])
					}
				}
			}
			groups, err := w.AS.DescribeAutoScalingGroups(t.Context(), &autoscaling.DescribeAutoScalingGroupsInput{})
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range groups.AutoScalingGroups {
				name := aws.ToString(g.AutoScalingGroupName)
				if _, err := w.AS.SetDesiredCapacity(t.Context(), &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: g.AutoScalingGroupName,
					DesiredCapacity: aws.Int32(aws.ToInt32(g.DesiredCapacity) + 1)}); err != nil {
					t.Fatal(err)
				}
				acts, err := w.AS.DescribeScalingActivities(t.Context(), &autoscaling.DescribeScalingActivitiesInput{AutoScalingGroupName: g.AutoScalingGroupName})
				if err != nil {
					t.Fatal(err)
				}
				failed := acts.Activities[0].StatusCode == astypes.ScalingActivityStatusCodeFailed
				if failed != blocked["group "+name] {
					t.Errorf("group %s: scaling out failed %v (%s), blocker %v", name, failed, aws.ToString(acts.Activities[0].StatusMessage), blocked["group "+name])
				}
			}
		})
	}
}

// TestReadinessUnknownIsABlocker: what cannot be judged blocks: an AMI
// that cannot be described when HttpTokens would come from it, a group
// pinned to a version that no longer exists, a group whose template is
// gone, and no Auto Scaling client at all.
func TestReadinessUnknownIsABlocker(t *testing.T) {
	w := newWorld(t)
	plain := w.Image(t, "plain", "")
	// An AMI the account cannot describe: only the template's explicit
	// HttpTokens can make its launches known.
	const missing = "ami-0000000000000dead"
	unknown := w.Template(t, "unknown-ami", missing, nil)
	w.Template(t, "explicit", missing, tokens("required"))
	// A group pinned to version 2, which is then deleted.
	pinned := w.Template(t, "pinned", plain, tokens("required"), tokens("required"))
	w.Group(t, "pinned", pinned, "2", 0)
	if _, err := w.EC2.DeleteLaunchTemplateVersions(t.Context(), &ec2.DeleteLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(pinned),
		Versions: []string{"2"}}); err != nil {
		t.Fatal(err)
	}
	// A group whose template is deleted.
	gone := w.Template(t, "gone", plain, tokens("required"))
	w.Group(t, "orphan", gone, "$Default", 0)
	if _, err := w.EC2.DeleteLaunchTemplate(t.Context(), &ec2.DeleteLaunchTemplateInput{LaunchTemplateId: aws.String(gone)}); err != nil {
		t.Fatal(err)
	}
	d := mustDefaults(t, mustSet(t, imdsopts.HTTPTokens("optional")), account.EnforceIMDSv2())
	r, err := account.CheckReadiness(t.Context(), w.clients(), d)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"group-launch-template launch template " + gone + ", group orphan",
		"group-launch-template launch template pinned (" + pinned + ") version 2, group pinned",
		"launch-template-default-version launch template unknown-ami (" + unknown + ") version 1",
		"account-default the account",
	}
	got := kinds(r.Blockers)
	if !slices.Equal(got, want) {
		t.Fatalf("blockers:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for i, reason := range []string{"does not exist", "version 2 of launch template " + pinned + " does not exist"} {
		if b := r.Blockers[i]; !strings.Contains(b.Reason, reason) || !strings.HasPrefix(b.Reason, "the launch cannot be judged") {
			t.Errorf("blocker %d reason %q, want it to say %q", i, b.Reason, reason)
		}
	}
	// The account default says optional, so the unknown AMI does not
	// matter: the template launches with optional from the account.
	if b := r.Blockers[2]; b.HTTPTokens != "optional" || b.HTTPTokensSource != imdsopts.SourceAccount {
		t.Errorf("unknown-ami blocker %+v, want optional from the account", b)
	}
	// With no account default, HttpTokens would come from the AMI that
	// cannot be described: unknown, and a blocker, not a pass.
	r, err = account.CheckReadiness(t.Context(), w.clients(), mustDefaults(t, imdsopts.Set{}, account.NoPreference("HttpTokens"), account.EnforceIMDSv2()))
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(r.Blockers, func(b account.Blocker) bool { return b.LaunchTemplateID == unknown })
	if i < 0 || !strings.Contains(r.Blockers[i].Reason, "HttpTokens comes from the AMI, and its AMI "+missing+" could not be described") ||
		r.Blockers[i].ImageID != missing {
		t.Errorf("unknown AMI: blockers %v", r.Blockers)
	}

	// No Auto Scaling client: the groups are not checked, which blocks.
	c := w.clients()
	c.AutoScaling = nil
	r, err = account.CheckReadiness(t.Context(), c, d)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Blockers) == 0 || r.Blockers[0].Kind != account.BlockerAutoScalingNotChecked || r.Ready {
		t.Errorf("without Auto Scaling: %v", kinds(r.Blockers))
	}
}

// TestReadinessMixedInstancesPolicy: a group with a mixed instances policy
// launches its template's version, and each override's own template
// version and AMI.
func TestReadinessMixedInstancesPolicy(t *testing.T) {
	w := newWorld(t)
	plain := w.Image(t, "plain", "")
	lt := w.Template(t, "mixed", plain, nil)
	_, err := w.AS.CreateAutoScalingGroup(t.Context(), &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String("mixed"), MinSize: aws.Int32(0), MaxSize: aws.Int32(2), AvailabilityZones: []string{"us-east-1a"},
		MixedInstancesPolicy: &astypes.MixedInstancesPolicy{LaunchTemplate: &astypes.LaunchTemplate{
			LaunchTemplateSpecification: &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String(lt), Version: aws.String("$Latest")},
			Overrides:                   []astypes.LaunchTemplateOverrides{{InstanceType: aws.String("m5.large")}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err := account.CheckReadiness(t.Context(), w.clients(), mustDefaults(t, mustSet(t, imdsopts.HTTPTokens("required")), account.EnforceIMDSv2()))
	if err != nil || !r.Ready {
		t.Fatalf("with the account default required: %v, %v", kinds(r.Blockers), err)
	}
	r, err = account.CheckReadiness(t.Context(), w.clients(), mustDefaults(t, imdsopts.Set{}, account.EnforceIMDSv2()))
	if err != nil {
		t.Fatal(err)
	}
	if got := kinds(r.Blockers); len(got) != 2 || got[0] != "group-launch-template launch template mixed ("+lt+") version 1, with AMI ami-00000000000000001, group mixed" {
		t.Errorf("blockers %q", got)
	}
}

// TestReadinessListingFails: any listing that fails is an error, never a
// readiness report, and so never "ready".
func TestReadinessListingFails(t *testing.T) {
	for _, op := range []string{"GetInstanceMetadataDefaults", "DescribeLaunchTemplates", "DescribeLaunchTemplateVersions",
		"DescribeImages", "DescribeInstances", "DescribeAutoScalingGroups", "DescribeLaunchConfigurations"} {
		t.Run(op, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := newWorld(t)
				lt := w.Template(t, "web", w.Image(t, "al2023", types.ImdsSupportValuesV20), tokens("required"))
				w.Group(t, "web", lt, "$Default", 1)
				fail := fake.NewAPIError(400, "InvalidParameterValue", "refused")
				if strings.HasSuffix(op, "Groups") || strings.HasSuffix(op, "Configurations") {
					w.AS.FailNext(op, 1, fail)
				} else {
					w.EC2.FailNext(op, 1, fail)
				}
				r, err := account.CheckReadiness(t.Context(), w.clients(), mustDefaults(t, mustSet(t, imdsopts.HTTPTokens("required")), account.EnforceIMDSv2()))
				if err == nil || r != nil || !strings.Contains(err.Error(), op) {
					t.Fatalf("CheckReadiness = %v, %v; want an error naming %s", r, err, op)
				}
				// Throttling storms are retried to the same, clean answer.
				throttle := fake.NewAPIError(503, "RequestLimitExceeded", "Request limit exceeded.")
				if strings.HasSuffix(op, "Groups") || strings.HasSuffix(op, "Configurations") {
					w.AS.FailNext(op, 5, fake.NewAPIError(400, "Throttling", "Rate exceeded"))
				} else {
					w.EC2.FailNext(op, 5, throttle)
				}
				r, err = account.CheckReadiness(t.Context(), w.clients(), mustDefaults(t, mustSet(t, imdsopts.HTTPTokens("required")), account.EnforceIMDSv2()))
				if err != nil || !r.Ready {
					t.Fatalf("after a throttling storm: %v, %v", r, err)
				}
			})
		})
	}
}

func TestReadinessAutoScalingTypedNil(t *testing.T) {
	var nilAS *autoscaling.Client
	c := newWorld(t).clients()
	c.AutoScaling = nilAS
	if _, err := account.CheckReadiness(t.Context(), c, account.Defaults{}); !errors.Is(err, imdsopts.ErrInvalid) {
		t.Errorf("typed nil Auto Scaling client: %v, want ErrInvalid", err)
	}
}

// loopingTemplates answers DescribeLaunchTemplates with the same page
// token forever, or with nothing at all.
type loopingTemplates struct {
	*fake.EC2
	empty bool
	calls int
}

func (l *loopingTemplates) DescribeLaunchTemplates(ctx context.Context, in *ec2.DescribeLaunchTemplatesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeLaunchTemplatesOutput, error) {
	l.calls++
	if l.empty {
		return nil, nil
	}
	first := *in
	first.NextToken = nil
	out, err := l.EC2.DescribeLaunchTemplates(ctx, &first, optFns...)
	if err == nil {
		out.NextToken = aws.String("again")
	}
	return out, err
}

// TestListingThatWouldNotEnd: a page token answered twice, or an empty
// answer, is an error, never a shorter list taken for the whole.
func TestListingThatWouldNotEnd(t *testing.T) {
	for _, empty := range []bool{false, true} {
		w := newWorld(t)
		c := w.clients()
		l := &loopingTemplates{EC2: w.EC2, empty: empty}
		c.EC2 = l
		r, err := account.CheckReadiness(t.Context(), c, account.Defaults{})
		want := `DescribeLaunchTemplates answered the page token "again" twice`
		if empty {
			want = "DescribeLaunchTemplates: answered nothing"
		}
		if err == nil || r != nil || !strings.Contains(err.Error(), want) {
			t.Errorf("empty %v: %v, %v; want an error saying %q", empty, r, err, want)
		}
		if l.calls > 2 {
			t.Errorf("empty %v: %d calls", empty, l.calls)
		}
	}
}

// TestManyMissingTemplatesAreBlockersNotAStop: "not found" answers the
// check expects (a group's template deleted, a pinned version deleted) are
// not failures for the circuit breaker: an account with more of them than
// MaxConsecutiveFailures is judged, not stopped.
func TestManyMissingTemplatesAreBlockersNotAStop(t *testing.T) {
	w := newWorld(t)
	plain := w.Image(t, "plain", "")
	for i := range 12 {
		gone := w.Template(t, fmt.Sprintf("gone-%02d", i), plain, tokens("required"))
		w.Group(t, fmt.Sprintf("orphan-%02d", i), gone, "$Default", 0)
		if _, err := w.EC2.DeleteLaunchTemplate(t.Context(), &ec2.DeleteLaunchTemplateInput{LaunchTemplateId: aws.String(gone)}); err != nil {
			t.Fatal(err)
		}
		pinned := w.Template(t, fmt.Sprintf("pinned-%02d", i), plain, tokens("required"), tokens("required"), tokens("required"))
		w.Group(t, fmt.Sprintf("pinned-%02d", i), pinned, "2", 0)
		if _, err := w.EC2.DeleteLaunchTemplateVersions(t.Context(), &ec2.DeleteLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(pinned),
			Versions: []string{"2"}}); err != nil {
			t.Fatal(err)
		}
	}
	r, err := account.CheckReadiness(t.Context(), w.clients(), mustDefaults(t, mustSet(t, imdsopts.HTTPTokens("required")), account.EnforceIMDSv2()),
		func(o *account.Options) { o.Concurrency = 1 })
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Blockers) != 24 {
		t.Errorf("%d blockers, want 24: %v", len(r.Blockers), kinds(r.Blockers))
	}
}
