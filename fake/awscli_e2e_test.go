//go:build e2e

package fake_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imdsopts/imdsopts/fake"
	"github.com/imdsopts/imdsopts/internal/awsclitest"
	"github.com/imdsopts/imdsopts/internal/motoserver"
)

// The AWS CLI against the emulator: the EC2 semantics moto gets wrong, each
// check run against the emulator (which must answer as EC2 does) and
// against moto (whose answer must be EC2's or a known deviation listed in
// motoserver.Deviations).

// cliEnv is one endpoint the checks run against.
type cliEnv struct {
	name string
	url  string
	home string
	// image is an image without ImdsSupport.
	image string
	// putNoToken adds a MetadataNoToken datapoint for an instance.
	putNoToken func(t *testing.T, id string, at time.Time, v float64)
	// requests counts the requests the endpoint answered by error code
	// ("" for successes); nil for moto.
	requests func() map[string]int
	// env are environment variables that override the defaults of aws,
	// such as other credentials or another Region.
	env []string
}

// with returns a copy of e whose runs of the AWS CLI also have env.
func (e *cliEnv) with(env ...string) *cliEnv {
	c := *e
	c.env = append(slices.Clip(e.env), env...)
	return &c
}

// awsCLI returns the AWS CLI, skipping the test when it is missing
// (failing it when motoserver.RequireEnv is set).
func awsCLI(t *testing.T) *awsclitest.CLI {
	t.Helper()
	return awsclitest.Find(t)
}

// cliResult is what one AWS CLI run produced.
type cliResult struct {
	code           int
	stdout, stderr string
}

var errorCode = regexp.MustCompile(`An error occurred \(([^)]+)\)`)

// outcome is "ok", or "exit N CODE" for a failed run.
func (r cliResult) outcome() string {
	if r.code == 0 {
		return "ok"
	}
	code := "?"
	if m := errorCode.FindStringSubmatch(r.stderr); m != nil {
		code = m[1]
	}
	return fmt.Sprintf("exit %d %s", r.code, code)
}

// cliMessage finds the message of an API error in the AWS CLI's
// "An error occurred (Code) when calling the Op operation (reached max
// retries: N): message".
var cliMessage = regexp.MustCompile(`An error occurred \([^)]+\) when calling the \w+ operation(?: \([^)]*\))?: (.*)`)

// message is the error message of a failed run, as the AWS CLI prints it.
func (r cliResult) message() string {
	if m := cliMessage.FindStringSubmatch(strings.TrimSpace(r.stderr)); m != nil {
		return m[1]
	}
	return ""
}

// msgEnforced is the message the User Guide documents for a launch refused
// by the account's enforcement of IMDSv2, and shows for a modification to
// optional.
const msgEnforced = "You can't launch instances with IMDSv1 because httpTokensEnforced is enabled for this account. " +
	"Either launch the instance with httpTokens=required or contact your account owner to disable httpTokensEnforced " +
	"using the ModifyInstanceMetadataDefaults API or the account settings in the EC2 console."

// aws runs the AWS CLI against e with test credentials, one attempt per
// call unless attempts says otherwise.
func (e *cliEnv) aws(t *testing.T, attempts int, args ...string) cliResult {
	t.Helper()
	env := []string{
		"HOME=" + e.home, "PATH=" + os.Getenv("PATH"),
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE=" + filepath.Join(e.home, "config"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(e.home, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER=", "AWS_RETRY_MODE=standard", fmt.Sprintf("AWS_MAX_ATTEMPTS=%d", attempts),
	}
	for _, k := range []string{"PYENV_ROOT", "PYENV_VERSION", "PYTHONPATH", "VIRTUAL_ENV", "LANG", "LC_ALL"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	env = append(env, e.env...) // the last value of a key wins
	out, err := awsCLI(t).Run(env, "", append(args, "--endpoint-url", e.url)...)
	if err != nil {
		t.Fatalf("aws %s: %v", strings.Join(args, " "), err)
	}
	return cliResult{code: out.Code, stdout: strings.TrimSpace(out.Stdout), stderr: out.Stderr}
}

// must runs the AWS CLI and fails the test unless it succeeds.
func (e *cliEnv) must(t *testing.T, args ...string) string {
	t.Helper()
	r := e.aws(t, 1, args...)
	if r.code != 0 {
		t.Fatalf("%s: aws %s: exit %d\n%s", e.name, strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

// launch runs one instance of image with the extra run-instances arguments
// and returns its ID.
func (e *cliEnv) launch(t *testing.T, image string, extra ...string) string {
	t.Helper()
	return e.must(t, append([]string{"ec2", "run-instances", "--image-id", image, "--count", "1",
		"--query", "Instances[0].InstanceId", "--output", "text"}, extra...)...)
}

// options is an instance's metadata options as DescribeInstances lists them:
// state tokens hop endpoint ipv6 tags.
func (e *cliEnv) options(t *testing.T, id string) string {
	t.Helper()
	return e.must(t, "ec2", "describe-instances", "--instance-ids", id, "--output", "text", "--query",
		"Reservations[0].Instances[0].MetadataOptions.[State,HttpTokens,HttpPutResponseHopLimit,HttpEndpoint,HttpProtocolIpv6,InstanceMetadataTags]")
}

// modify runs modify-instance-metadata-options with args and returns its
// outcome and, when it succeeded, the State it answered.
func (e *cliEnv) modify(t *testing.T, id string, args ...string) string {
	t.Helper()
	r := e.aws(t, 1, append([]string{"ec2", "modify-instance-metadata-options", "--instance-id", id,
		"--query", "InstanceMetadataOptions.State", "--output", "text"}, args...)...)
	if r.code == 0 {
		return "ok " + r.stdout
	}
	return r.outcome()
}

// emulatorEnv starts an emulator for one check: a fake EC2 (changes apply
// at once), CloudWatch and Auto Scaling behind fake.NewServer, with one
// image.
func emulatorEnv(t *testing.T, optFns ...func(*fake.Options)) *cliEnv {
	t.Helper()
	f := fake.New(append([]func(*fake.Options){func(o *fake.Options) { o.ApplyDelay = 0 }}, optFns...)...)
	cw := fake.NewCloudWatch()
	var mu sync.Mutex
	codes := map[string]int{}
	srv, err := fake.NewServer(f, func(o *fake.HandlerOptions) {
		o.CloudWatch = cw
		o.AutoScaling = fake.NewAutoScaling(f)
		o.OnRequest = func(r fake.RequestRecord) {
			mu.Lock()
			defer mu.Unlock()
			codes[r.ErrorCode]++
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	e := &cliEnv{name: "emulator", url: srv.URL, home: t.TempDir(),
		putNoToken: func(_ *testing.T, id string, at time.Time, v float64) { cw.PutMetadataNoToken(id, at, v) },
		requests: func() map[string]int {
			mu.Lock()
			defer mu.Unlock()
			c := map[string]int{}
			for k, v := range codes {
				c[k] = v
			}
			return c
		},
	}
	e.image = e.must(t, "ec2", "register-image", "--name", "base", "--query", "ImageId", "--output", "text")
	return e
}

// cliCheck is one acceptance check of issue 10.
type cliCheck struct {
	name string
	// emulator options for this check, beyond an ApplyDelay of 0.
	options func(*fake.Options)
	run     func(t *testing.T, e *cliEnv) string
	// ec2 is what EC2 answers (and the emulator must).
	ec2 string
	// moto is what moto answers when it deviates, with the key of the
	// deviation in motoserver.Deviations; empty when moto answers as EC2.
	moto, deviation string
}

var cliChecks = []cliCheck{{
	name: "omitted options kept",
	run: func(t *testing.T, e *cliEnv) string {
		id := e.launch(t, e.image)
		e.modify(t, id, "--http-tokens", "required", "--http-put-response-hop-limit", "3", "--http-endpoint", "enabled",
			"--http-protocol-ipv6", "enabled", "--instance-metadata-tags", "enabled")
		e.modify(t, id, "--http-tokens", "optional")
		_, rest, _ := strings.Cut(e.options(t, id), "\t")
		return rest
	},
	ec2:  "optional\t3\tenabled\tenabled\tenabled",
	moto: "optional\t1\tNone\tNone\tNone", deviation: "replaces-omitted",
}, {
	name: "modify answers pending, then describe says applied",
	run: func(t *testing.T, e *cliEnv) string {
		id := e.launch(t, e.image)
		answer := e.modify(t, id, "--http-tokens", "required")
		state, _, _ := strings.Cut(e.options(t, id), "\t")
		return answer + ", then " + state
	},
	ec2:  "ok pending, then applied",
	moto: "ok applied, then applied", deviation: "never-pending",
}, {
	name: "hop limit 65 refused",
	run: func(t *testing.T, e *cliEnv) string {
		id := e.launch(t, e.image)
		return e.modify(t, id, "--http-put-response-hop-limit", "65")
	},
	ec2:  "exit 255 InvalidParameterValue",
	moto: "ok applied", deviation: "accepts-invalid",
}, {
	name: "HttpTokens Required refused",
	run: func(t *testing.T, e *cliEnv) string {
		id := e.launch(t, e.image)
		return e.modify(t, id, "--http-tokens", "Required")
	},
	ec2:  "exit 255 InvalidParameterValue",
	moto: "ok applied", deviation: "accepts-invalid",
}, {
	name: "DryRun answered DryRunOperation, nothing changed",
	run: func(t *testing.T, e *cliEnv) string {
		id := e.launch(t, e.image)
		answer := e.modify(t, id, "--http-tokens", "required", "--dry-run")
		return answer + ", tokens " + strings.Split(e.options(t, id), "\t")[1]
	},
	ec2:  "exit 255 DryRunOperation, tokens optional",
	moto: "ok applied, tokens required", deviation: "ignores-dry-run",
}, {
	name: "account defaults modified and read back",
	run: func(t *testing.T, e *cliEnv) string {
		r := e.aws(t, 1, "ec2", "modify-instance-metadata-defaults", "--http-tokens", "required", "--http-put-response-hop-limit", "2",
			"--query", "Return", "--output", "text")
		if r.code != 0 {
			return "modify: " + r.outcome()
		}
		g := e.aws(t, 1, "ec2", "get-instance-metadata-defaults", "--output", "text", "--query",
			"AccountLevel.[HttpTokens,HttpPutResponseHopLimit,HttpEndpoint,ManagedBy]")
		if g.code != 0 {
			return "get: " + g.outcome()
		}
		return r.stdout + ", then " + g.stdout
	},
	ec2:  "True, then required\t2\tNone\taccount",
	moto: "modify: exit 255 ?", deviation: "defaults-500",
}, {
	name: "enforcement refuses IMDSv1 launches and required to optional",
	run: func(t *testing.T, e *cliEnv) string {
		id := e.launch(t, e.image, "--metadata-options", "HttpTokens=required")
		r := e.aws(t, 1, "ec2", "modify-instance-metadata-defaults", "--http-tokens-enforced", "enabled")
		if r.code != 0 {
			return "enforce: " + r.outcome()
		}
		launch := e.aws(t, 1, "ec2", "run-instances", "--image-id", e.image, "--count", "1", "--metadata-options", "HttpTokens=optional")
		return "launch " + launch.outcome() + ", modify " + e.modify(t, id, "--http-tokens", "optional")
	},
	ec2:  "launch exit 255 UnsupportedOperation, modify exit 255 UnsupportedOperation",
	moto: "enforce: exit 255 ?", deviation: "defaults-500",
}, {
	name: "enforcement refusals carry the documented message",
	run: func(t *testing.T, e *cliEnv) string {
		id := e.launch(t, e.image, "--metadata-options", "HttpTokens=required")
		r := e.aws(t, 1, "ec2", "modify-instance-metadata-defaults", "--http-tokens-enforced", "enabled")
		if r.code != 0 {
			return "enforce: " + r.outcome()
		}
		launch := e.aws(t, 1, "ec2", "run-instances", "--image-id", e.image, "--count", "1", "--metadata-options", "HttpTokens=optional")
		modify := e.aws(t, 1, "ec2", "modify-instance-metadata-options", "--instance-id", id, "--http-tokens", "optional")
		return fmt.Sprintf("launch %q, modify %q", launch.message(), modify.message())
	},
	ec2:  fmt.Sprintf("launch %q, modify %q", msgEnforced, msgEnforced),
	moto: "enforce: exit 255 ?", deviation: "defaults-500",
}, {
	name: "enforcement leaves optional instances alone",
	run: func(t *testing.T, e *cliEnv) string {
		id := e.launch(t, e.image, "--metadata-options", "HttpTokens=optional")
		r := e.aws(t, 1, "ec2", "modify-instance-metadata-defaults", "--http-tokens-enforced", "enabled")
		if r.code != 0 {
			return "enforce: " + r.outcome()
		}
		return e.modify(t, id, "--http-tokens", "optional", "--http-put-response-hop-limit", "2")
	},
	ec2:  "ok pending",
	moto: "enforce: exit 255 ?", deviation: "defaults-500",
}, {
	name: "ImdsSupport v2.0 at launch",
	run: func(t *testing.T, e *cliEnv) string {
		image := e.must(t, "ec2", "register-image", "--name", "v2-"+e.name, "--imds-support", "v2.0",
			"--architecture", "x86_64", "--root-device-name", "/dev/xvda", "--query", "ImageId", "--output", "text")
		support := e.must(t, "ec2", "describe-images", "--image-ids", image, "--query", "Images[0].ImdsSupport", "--output", "text")
		o := strings.Split(e.options(t, e.launch(t, image)), "\t")
		return fmt.Sprintf("image %s, launched %s %s", support, o[1], o[2])
	},
	ec2:  "image v2.0, launched required 2",
	moto: "image None, launched optional 1", deviation: "drops-imds-support",
}, {
	name: "stopped instance pending until started",
	run: func(t *testing.T, e *cliEnv) string {
		id := e.launch(t, e.image)
		e.must(t, "ec2", "stop-instances", "--instance-ids", id)
		answer := e.modify(t, id, "--http-tokens", "required")
		stopped := strings.Split(e.options(t, id), "\t")[0]
		e.must(t, "ec2", "start-instances", "--instance-ids", id)
		started := strings.Split(e.options(t, id), "\t")
		return fmt.Sprintf("%s, stopped %s, started %s %s", answer, stopped, started[0], started[1])
	},
	ec2:  "ok pending, stopped pending, started applied required",
	moto: "ok applied, stopped applied, started applied required", deviation: "never-pending",
}, {
	name: "HttpTokens on an instance whose endpoint is disabled",
	run: func(t *testing.T, e *cliEnv) string {
		id := e.launch(t, e.image, "--metadata-options", "HttpEndpoint=disabled")
		alone := e.modify(t, id, "--http-tokens", "required")
		with := e.modify(t, id, "--http-tokens", "required", "--http-endpoint", "enabled")
		return "alone " + alone + ", with the endpoint enabled " + with
	},
	ec2:  "alone exit 255 InvalidParameterCombination, with the endpoint enabled ok pending",
	moto: "alone ok applied, with the endpoint enabled ok applied", deviation: "options-on-disabled-endpoint",
}, {
	name: "the IPv6 endpoint refused on Xen instance types",
	run: func(t *testing.T, e *cliEnv) string {
		launch := e.aws(t, 1, "ec2", "run-instances", "--image-id", e.image, "--count", "1", "--instance-type", "t2.micro",
			"--metadata-options", "HttpProtocolIpv6=enabled")
		xen := e.launch(t, e.image, "--instance-type", "m4.large")
		nitro := e.launch(t, e.image, "--instance-type", "m5.large")
		return fmt.Sprintf("launch t2.micro %s, modify m4.large %s, modify m5.large %s", launch.outcome(),
			e.modify(t, xen, "--http-protocol-ipv6", "enabled"), e.modify(t, nitro, "--http-protocol-ipv6", "enabled"))
	},
	ec2:  "launch t2.micro exit 255 UnsupportedOperation, modify m4.large exit 255 UnsupportedOperation, modify m5.large ok pending",
	moto: "launch t2.micro ok, modify m4.large ok applied, modify m5.large ok applied", deviation: "ipv6-on-xen",
}, {
	name: "tags in the metadata refuse a kubernetes.io tag key",
	run: func(t *testing.T, e *cliEnv) string {
		tag := "ResourceType=instance,Tags=[{Key=kubernetes.io/cluster/prod,Value=owned}]"
		launch := e.aws(t, 1, "ec2", "run-instances", "--image-id", e.image, "--count", "1", "--tag-specifications", tag,
			"--metadata-options", "InstanceMetadataTags=enabled")
		id := e.launch(t, e.image, "--tag-specifications", tag)
		modify := e.aws(t, 1, "ec2", "modify-instance-metadata-options", "--instance-id", id, "--instance-metadata-tags", "enabled")
		out := "launch " + launch.outcome() + ", modify " + modify.outcome()
		if want := imdsTagKeyMessage("kubernetes.io/cluster/prod"); launch.message() == want && modify.message() == want {
			out += ", with EC2's message"
		}
		return out
	},
	ec2:  "launch exit 255 InvalidParameterValue, modify exit 255 InvalidParameterValue, with EC2's message",
	moto: "launch ok, modify ok", deviation: "accepts-imds-tag-keys",
}, {
	name: "tags in the metadata by account default fail the launch, not the defaults",
	run: func(t *testing.T, e *cliEnv) string {
		r := e.aws(t, 1, "ec2", "modify-instance-metadata-defaults", "--instance-metadata-tags", "enabled")
		if r.code != 0 {
			return "defaults: " + r.outcome()
		}
		launch := e.aws(t, 1, "ec2", "run-instances", "--image-id", e.image, "--count", "1",
			"--tag-specifications", "ResourceType=instance,Tags=[{Key=karpenter.sh/nodepool,Value=default}]")
		return "defaults ok, launch " + launch.outcome()
	},
	ec2:  "defaults ok, launch exit 255 InvalidParameterValue",
	moto: "defaults: exit 255 ?", deviation: "defaults-500",
}, {
	name: "a just-launched instance is not found while it propagates",
	// EC2 is eventually consistent: for a while after RunInstances, the
	// instance may not be found. The emulator takes the longest reading.
	options: func(o *fake.Options) { o.PropagationDelay = time.Hour },
	run: func(t *testing.T, e *cliEnv) string {
		id := e.launch(t, e.image)
		describe := e.aws(t, 1, "ec2", "describe-instances", "--instance-ids", id)
		return "describe " + describe.outcome() + ", modify " + e.modify(t, id, "--http-tokens", "required")
	},
	ec2:  "describe exit 255 InvalidInstanceID.NotFound, modify exit 255 InvalidInstanceID.NotFound",
	moto: "describe ok, modify ok applied", deviation: "consistent-at-once",
}, {
	name: "unknown instance ID",
	run: func(t *testing.T, e *cliEnv) string {
		return e.modify(t, "i-0123456789abcdef0", "--http-tokens", "required")
	},
	ec2: "exit 255 InvalidInstanceID.NotFound",
}, {
	name: "malformed instance ID",
	run: func(t *testing.T, e *cliEnv) string {
		return e.modify(t, "i-xyz", "--http-tokens", "required")
	},
	ec2:  "exit 255 InvalidInstanceID.Malformed",
	moto: "exit 255 InvalidInstanceID.NotFound", deviation: "malformed-id-not-found",
}, {
	name: "throttling answered RequestLimitExceeded and retried by the CLI",
	// A DescribeInstances bucket of one token that never refills: the
	// first call passes, every attempt of the second is throttled.
	options: func(o *fake.Options) { o.Throttle = true; o.Buckets.DescribeUnfiltered = fake.Bucket{Size: 1} },
	run: func(t *testing.T, e *cliEnv) string {
		first := e.aws(t, 3, "ec2", "describe-instances")
		second := e.aws(t, 3, "ec2", "describe-instances")
		out := fmt.Sprintf("first %s, second %s", first.outcome(), second.outcome())
		if strings.Contains(second.stderr, "(reached max retries: 2)") {
			out += " after 2 retries"
		}
		if e.requests != nil {
			out += fmt.Sprintf(", %d answered RequestLimitExceeded", e.requests()["RequestLimitExceeded"])
		}
		return out
	},
	ec2:  "first ok, second exit 255 RequestLimitExceeded after 2 retries, 3 answered RequestLimitExceeded",
	moto: "first ok, second ok", deviation: "never-throttles",
}, {
	name: "describe-instances filters on metadata-options.http-protocol-ipv4",
	run: func(t *testing.T, e *cliEnv) string {
		tag := "ResourceType=instance,Tags=[{Key=check,Value=ipv4}]"
		off := e.launch(t, e.image, "--metadata-options", "HttpEndpoint=disabled", "--tag-specifications", tag)
		on := e.launch(t, e.image, "--tag-specifications", tag)
		var out []string
		for _, v := range []string{"disabled", "enabled"} {
			r := e.aws(t, 1, "ec2", "describe-instances", "--filters", "Name=tag:check,Values=ipv4", "Name=metadata-options.http-protocol-ipv4,Values="+v,
				"--query", "Reservations[].Instances[].InstanceId", "--output", "text")
			switch {
			case r.code != 0:
				out = append(out, v+" "+r.outcome())
			case r.stdout == off:
				out = append(out, v+" the disabled endpoint")
			case r.stdout == on:
				out = append(out, v+" the enabled endpoint")
			default:
				out = append(out, v+" "+r.stdout)
			}
		}
		return strings.Join(out, ", ")
	},
	ec2:  "disabled the disabled endpoint, enabled the enabled endpoint",
	moto: "disabled exit 255 ?, enabled exit 255 ?", deviation: "metadata-filters-500",
}, {
	name: "create-launch-template-version from $Latest copies it",
	run: func(t *testing.T, e *cliEnv) string {
		lt := e.must(t, "ec2", "create-launch-template", "--launch-template-name", "source-latest", "--launch-template-data",
			`{"InstanceType":"t3.micro","MetadataOptions":{"HttpTokens":"optional"}}`, "--query", "LaunchTemplate.LaunchTemplateId", "--output", "text")
		r := e.aws(t, 1, "ec2", "create-launch-template-version", "--launch-template-id", lt, "--source-version", "$Latest",
			"--launch-template-data", `{"MetadataOptions":{"HttpTokens":"required"}}`, "--output", "text",
			"--query", "LaunchTemplateVersion.[VersionNumber,LaunchTemplateData.InstanceType,LaunchTemplateData.MetadataOptions.HttpTokens]")
		if r.code != 0 {
			return r.outcome()
		}
		return r.stdout
	},
	ec2:  "2\tt3.micro\trequired",
	moto: "2\tNone\trequired", deviation: "ignores-source-version",
}, {
	name: "RunInstances has a request bucket of 5",
	// EC2's size; no refill, as the CLI's calls take real time.
	options: func(o *fake.Options) { o.Throttle = true; o.Buckets.RunInstances.Refill = 0 },
	run: func(t *testing.T, e *cliEnv) string {
		var out []string
		for range 6 {
			out = append(out, e.aws(t, 1, "ec2", "run-instances", "--image-id", e.image, "--count", "1").outcome())
		}
		return strings.Join(out, ", ")
	},
	ec2:  "ok, ok, ok, ok, ok, exit 255 RequestLimitExceeded",
	moto: "ok, ok, ok, ok, ok, ok", deviation: "never-throttles",
}, {
	name: "an Auto Scaling override with its own launch template launches from it",
	run: func(t *testing.T, e *cliEnv) string {
		web := e.must(t, "ec2", "create-launch-template", "--launch-template-name", "override-web", "--launch-template-data",
			fmt.Sprintf(`{"ImageId":"%s","MetadataOptions":{"HttpTokens":"required"}}`, e.image), "--query", "LaunchTemplate.LaunchTemplateId", "--output", "text")
		arm := e.must(t, "ec2", "create-launch-template", "--launch-template-name", "override-arm", "--launch-template-data",
			fmt.Sprintf(`{"ImageId":"%s","MetadataOptions":{"HttpTokens":"optional"}}`, e.image), "--query", "LaunchTemplate.LaunchTemplateId", "--output", "text")
		policy := fmt.Sprintf(`{"LaunchTemplate":{"LaunchTemplateSpecification":{"LaunchTemplateId":"%s"},`+
			`"Overrides":[{"InstanceType":"m6g.large","LaunchTemplateSpecification":{"LaunchTemplateId":"%s"}},{"InstanceType":"m5.large"}]}}`, web, arm)
		r := e.aws(t, 1, "autoscaling", "create-auto-scaling-group", "--auto-scaling-group-name", "override", "--min-size", "0", "--max-size", "1",
			"--desired-capacity", "1", "--availability-zones", "us-east-1a", "--mixed-instances-policy", policy)
		if r.code != 0 {
			return "create: " + r.outcome()
		}
		got := strings.Split(e.must(t, "ec2", "describe-instances", "--filters", "Name=tag:aws:autoscaling:groupName,Values=override", "--output", "text",
			"--query", "Reservations[].Instances[].[InstanceType || 'no type',Tags[?Key=='aws:ec2launchtemplate:id'].Value|[0],MetadataOptions.HttpTokens]"), "\t")
		if len(got) != 3 {
			return fmt.Sprintf("instances %q", got)
		}
		from := map[string]string{web: "the group's template", arm: "the override's template"}[got[1]]
		return fmt.Sprintf("%s from %s, HttpTokens %s", got[0], from, got[2])
	},
	ec2:  "m6g.large from the override's template, HttpTokens optional",
	moto: "no type from the group's template, HttpTokens optional", deviation: "ignores-override-template",
}, {
	name: "CloudWatch get-metric-data sums MetadataNoToken",
	run: func(t *testing.T, e *cliEnv) string {
		id := e.launch(t, e.image)
		now := time.Now().UTC().Truncate(time.Minute)
		e.putNoToken(t, id, now.Add(-3*time.Hour), 4)
		e.putNoToken(t, id, now.Add(-2*time.Hour), 3)
		query := fmt.Sprintf(`[{"Id":"q","MetricStat":{"Metric":{"Namespace":"AWS/EC2","MetricName":"MetadataNoToken",`+
			`"Dimensions":[{"Name":"InstanceId","Value":"%s"}]},"Period":86400,"Stat":"Sum"}}]`, id)
		r := e.aws(t, 1, "cloudwatch", "get-metric-data", "--start-time", now.Add(-24*time.Hour).Format(time.RFC3339),
			"--end-time", now.Format(time.RFC3339), "--metric-data-queries", query,
			"--query", "MetricDataResults[0].[StatusCode,Values[0]]", "--output", "text")
		if r.code != 0 {
			return r.outcome()
		}
		return r.stdout
	},
	ec2: "Complete\t7.0",
}}

func TestE2EAWSCLIAcceptance(t *testing.T) {
	t.Parallel()
	awsCLI(t)
	moto := &cliEnv{name: "moto", url: motoserver.Start(t).URL, home: t.TempDir(), image: motoserver.ImageID}
	moto.putNoToken = func(t *testing.T, id string, at time.Time, v float64) {
		moto.must(t, "cloudwatch", "put-metric-data", "--namespace", "AWS/EC2", "--metric-data",
			fmt.Sprintf("MetricName=MetadataNoToken,Dimensions=[{Name=InstanceId,Value=%s}],Value=%g,Timestamp=%s", id, v, at.Format(time.RFC3339)))
	}
	for _, c := range cliChecks {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if c.deviation != "" {
				if _, ok := motoserver.Deviations[c.deviation]; !ok {
					t.Fatalf("deviation %q is not in motoserver.Deviations", c.deviation)
				}
				if c.moto == c.ec2 {
					t.Fatalf("the check expects moto to answer as EC2 (%q): not a deviation", c.ec2)
				}
			}
			t.Run("emulator", func(t *testing.T) {
				var opts []func(*fake.Options)
				if c.options != nil {
					opts = append(opts, c.options)
				}
				if got := c.run(t, emulatorEnv(t, opts...)); got != c.ec2 {
					t.Errorf("the emulator answers %q, EC2 %q", got, c.ec2)
				}
			})
			t.Run("moto", func(t *testing.T) {
				got := c.run(t, moto)
				t.Logf("moto: %s", got)
				switch {
				case c.deviation == "" && got != c.ec2:
					t.Errorf("moto answers %q, not EC2's %q, and no deviation is listed for it", got, c.ec2)
				case c.deviation != "" && got == c.ec2:
					t.Errorf("moto now answers as EC2 (%q): deviation %q looks fixed", got, c.deviation)
				case c.deviation != "" && got != c.moto:
					t.Errorf("moto answers %q, want the known deviation %q (%s)", got, c.moto, motoserver.Deviations[c.deviation])
				}
			})
		})
	}
}

// The operations served beyond issue 10's list, through the AWS CLI: launch
// templates, the imdsSupport attribute, and Auto Scaling groups that launch
// from a template into the same EC2 fake. Only the emulator: these are
// checks of the wire, not of moto.
func TestE2EAWSCLITemplatesImagesAndAutoScaling(t *testing.T) {
	t.Parallel()
	awsCLI(t)
	e := emulatorEnv(t)
	lt := e.must(t, "ec2", "create-launch-template", "--launch-template-name", "web", "--launch-template-data",
		fmt.Sprintf(`{"ImageId":"%s","MetadataOptions":{"HttpTokens":"optional"}}`, e.image),
		"--query", "LaunchTemplate.LaunchTemplateId", "--output", "text")
	v2 := e.must(t, "ec2", "create-launch-template-version", "--launch-template-id", lt, "--source-version", "1",
		"--launch-template-data", `{"MetadataOptions":{"HttpTokens":"required","HttpPutResponseHopLimit":2}}`,
		"--query", "LaunchTemplateVersion.VersionNumber", "--output", "text")
	e.must(t, "ec2", "modify-launch-template", "--launch-template-id", lt, "--default-version", v2)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"ec2", "describe-launch-template-versions", "--launch-template-id", lt, "--output", "text",
			"--query", "LaunchTemplateVersions[].[VersionNumber,DefaultVersion,LaunchTemplateData.ImageId,LaunchTemplateData.MetadataOptions.HttpTokens]"},
			"2\tTrue\t" + e.image + "\trequired\n1\tFalse\t" + e.image + "\toptional"},
		{[]string{"ec2", "describe-launch-templates", "--output", "text", "--query", "LaunchTemplates[].[LaunchTemplateName,DefaultVersionNumber,LatestVersionNumber]"},
			"web\t2\t2"},
		{[]string{"ec2", "modify-image-attribute", "--image-id", e.image, "--imds-support", "Value=v2.0"}, ""},
		{[]string{"ec2", "describe-image-attribute", "--image-id", e.image, "--attribute", "imdsSupport", "--output", "text", "--query", "ImdsSupport.Value"},
			"v2.0"},
		{[]string{"autoscaling", "create-auto-scaling-group", "--auto-scaling-group-name", "web", "--min-size", "0", "--max-size", "4",
			"--desired-capacity", "2", "--availability-zones", "us-east-1a", "--launch-template", "LaunchTemplateId=" + lt + ",Version=$Default"}, ""},
		{[]string{"autoscaling", "describe-auto-scaling-groups", "--auto-scaling-group-names", "web", "--output", "text", "--query",
			"AutoScalingGroups[0].[AutoScalingGroupName,DesiredCapacity,LaunchTemplate.Version,length(Instances)]"},
			"web\t2\t$Default\t2"},
		{[]string{"autoscaling", "describe-scaling-activities", "--auto-scaling-group-name", "web", "--output", "text", "--query", "Activities[].StatusCode"},
			"Successful\tSuccessful"},
		{[]string{"ec2", "describe-instances", "--filters", "Name=tag:aws:autoscaling:groupName,Values=web", "--output", "text",
			"--query", "Reservations[].Instances[].MetadataOptions.HttpTokens"},
			"required\trequired"},
	} {
		if got := e.must(t, c.args...); got != c.want {
			t.Errorf("aws %s:\n%s\nwant\n%s", strings.Join(c.args, " "), got, c.want)
		}
	}
	r := e.aws(t, 1, "autoscaling", "set-desired-capacity", "--auto-scaling-group-name", "web", "--desired-capacity", "9")
	if got := r.outcome(); got != "exit 255 ValidationError" {
		t.Errorf("set-desired-capacity over the maximum: %s\n%s", got, r.stderr)
	}
	r = e.aws(t, 1, "ec2", "modify-image-attribute", "--image-id", e.image, "--imds-support", "Value=v1.0")
	if got := r.outcome(); got != "exit 255 InvalidParameterValue" {
		t.Errorf("imdsSupport undone: %s\n%s", got, r.stderr)
	}
}

// The AWS CLI against one emulator that serves an organisation: STS and
// Organizations in the CLI's protocols, and the credentials of assume-role
// reaching the role's account in another Region.
func TestE2EAWSCLIOrganization(t *testing.T) {
	t.Parallel()
	awsCLI(t)
	org := newOrg(t, func(o *fake.OrganizationOptions) { o.EC2 = func(o *fake.Options) { o.ApplyDelay = 0 } })
	seeded, err := region(t, org, devID, "eu-west-1").EC2().Launch(2)
	if err != nil {
		t.Fatal(err)
	}
	home := region(t, org, mgmtID, "us-east-1")
	srv, err := fake.NewServer(home.EC2(), func(o *fake.HandlerOptions) { o.Organization = org })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	e := &cliEnv{name: "emulator", url: srv.URL, home: t.TempDir()}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"sts", "get-caller-identity", "--output", "text", "--query", "[Account,Arn]"}, mgmtID + "\tarn:aws:iam::" + mgmtID + ":user/test"},
		{[]string{"organizations", "list-accounts", "--output", "text", "--query", "Accounts[].[Id,Status,State,Name]"},
			mgmtID + "\tACTIVE\tACTIVE\tmanagement\n" + prodID + "\tACTIVE\tACTIVE\tprod\n" + devID + "\tACTIVE\tACTIVE\tdev\n" + oldID + "\tACTIVE\tACTIVE\told"},
		// In text, the CLI applies the query to each page: four pages of one.
		{[]string{"organizations", "list-accounts", "--page-size", "1", "--output", "text", "--query", "length(Accounts)"}, "1\n1\n1\n1"},
	} {
		if got := e.must(t, c.args...); got != c.want {
			t.Errorf("aws %s:\n%s\nwant\n%s", strings.Join(c.args, " "), got, c.want)
		}
	}
	creds := strings.Fields(e.must(t, "sts", "assume-role", "--role-arn", "arn:aws:iam::"+devID+":role/Admin", "--role-session-name", "cli",
		"--output", "text", "--query", "Credentials.[AccessKeyId,SecretAccessKey,SessionToken]"))
	if len(creds) != 3 || !strings.HasPrefix(creds[0], "ASIA") {
		t.Fatalf("assume-role answered %q", creds)
	}
	dev := e.with("AWS_ACCESS_KEY_ID="+creds[0], "AWS_SECRET_ACCESS_KEY="+creds[1], "AWS_SESSION_TOKEN="+creds[2], "AWS_DEFAULT_REGION=eu-west-1")
	if got, want := dev.must(t, "ec2", "describe-instances", "--output", "text", "--query", "Reservations[].[OwnerId,Instances[].InstanceId]"),
		devID+"\n"+strings.Join(seeded, "\t"); got != want {
		t.Errorf("dev's eu-west-1 with the assumed credentials:\n%s\nwant\n%s", got, want)
	}
	if got := dev.must(t, "sts", "get-caller-identity", "--output", "text", "--query", "Arn"); got != "arn:aws:sts::"+devID+":assumed-role/Admin/cli" {
		t.Errorf("the assumed credentials' identity: %s", got)
	}
	if got := dev.aws(t, 1, "ec2", "describe-instances", "--region", "af-south-1").outcome(); got != "exit 255 AuthFailure" {
		t.Errorf("a Region dev has not opted into: %s", got)
	}
	if got := dev.aws(t, 1, "organizations", "list-accounts").outcome(); got != "exit 255 AccessDeniedException" {
		t.Errorf("list-accounts from a member account: %s", got)
	}
	if got := e.aws(t, 1, "sts", "assume-role", "--role-arn", "arn:aws:iam::"+prodID+":role/Admin", "--role-session-name", "cli").outcome(); got != "exit 255 AccessDenied" {
		t.Errorf("assume-role without the external ID: %s", got)
	}
}
