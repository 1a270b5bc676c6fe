// Package motoserver starts the moto EC2 emulator for integration tests.
//
// Tests call Start, which runs moto_server on 127.0.0.1 and a free port, waits
// until it answers, and stops it when the test ends. When moto_server is not on
// PATH, Start skips the test, unless IMDSOPTS_REQUIRE_MOTO=1, when it fails it:
// CI sets that, so a missing emulator cannot pass as a green run.
//
// moto is useful for the wire (the real SDK client, HTTP, error decoding), not
// for EC2 semantics; its known deviations are listed in Deviations.
package motoserver

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/imdsopts/imdsopts/internal/testproc"
)

// RequireEnv is the environment variable that turns a missing moto_server
// from a skip into a failure.
const RequireEnv = "IMDSOPTS_REQUIRE_MOTO"

// Region is the Region every client of the emulator uses.
const Region = "us-east-1"

// ImageID is one of the Amazon images moto serves from the start
// (amzn-ami-hvm-2017.09.1.20171103-x86_64-gp2). Like all of moto's own
// images it has no ImdsSupport.
const ImageID = "ami-760aaa0f"

// Deviations lists where moto 5.2.1 answers differently from EC2, each
// confirmed by sending the call to moto. The keys are stable names that tests
// refer to; TestE2EMotoDeviations in the root package runs every entry against
// moto and against the in-memory fake, and fails when moto stops deviating.
// Tests that meet one of these check the EC2 behaviour against the fake
// instead.
var Deviations = map[string]string{
	"replaces-omitted": "ModifyInstanceMetadataOptions replaces all options with the ones sent: " +
		"omitted enumerations become absent and an omitted hop limit becomes 1; EC2 keeps omitted ones",
	"never-pending": "ModifyInstanceMetadataOptions answers State applied at once, also for a stopped instance; " +
		"EC2 answers pending, and keeps a stopped instance's change pending until it starts",
	"accepts-invalid": "ModifyInstanceMetadataOptions and RunInstances accept hop limit 65 and " +
		"ModifyInstanceMetadataOptions accepts HttpTokens bogus or Required; EC2 answers InvalidParameterValue",
	"ignores-dry-run": "ModifyInstanceMetadataOptions ignores DryRun and applies the change; " +
		"EC2 answers DryRunOperation and changes nothing",
	"defaults-500": "GetInstanceMetadataDefaults is not implemented and answers HTTP 500 with an HTML body; " +
		"EC2 returns the account defaults",
	"drops-imds-support": "RegisterImage drops ImdsSupport, so DescribeImages reports none and instances " +
		"launched from the image get HttpTokens optional and hop limit 1; EC2 keeps v2.0 and launches with " +
		"HttpTokens required and hop limit 2. moto's own images have no ImdsSupport either",
	"metadata-filters-500": "DescribeInstances does not implement the metadata-options.* filters and " +
		"answers HTTP 500; EC2 filters on them",
	"malformed-id-not-found": "ModifyInstanceMetadataOptions answers a malformed instance ID with " +
		"InvalidInstanceID.NotFound; EC2 answers InvalidInstanceID.Malformed",
	"never-throttles": "no request is ever throttled; EC2 answers RequestLimitExceeded (HTTP 503) when an API's " +
		"token bucket is empty, and the SDKs and the AWS CLI retry it",
	"options-on-disabled-endpoint": "ModifyInstanceMetadataOptions sets HttpTokens, the hop limit or HttpProtocolIpv6 " +
		"on an instance whose endpoint is disabled without HttpEndpoint enabled in the request; EC2 documents that " +
		"they need HttpEndpoint enabled (what it answers otherwise is undocumented; the emulator refuses with " +
		"InvalidParameterCombination)",
	"ipv6-on-xen": "RunInstances and ModifyInstanceMetadataOptions enable HttpProtocolIpv6 on Xen instance types " +
		"(t2, m4...); EC2 answers UnsupportedOperation: the IPv6 endpoint is only supported on Nitro-based instances",
	"accepts-imds-tag-keys": "RunInstances and ModifyInstanceMetadataOptions put tags in the instance metadata " +
		"(InstanceMetadataTags enabled) whatever their keys; EC2 answers InvalidParameterValue for a key outside " +
		"[0-9a-zA-Z\\-_+=,.@:]{1,255} or reserved (., .., _index), such as kubernetes.io/cluster/NAME",
	"ignores-override-template": "an Auto Scaling group whose mixed instances policy has an override with a " +
		"LaunchTemplateSpecification of its own launches from the policy's template, with no instance type; " +
		"EC2 Auto Scaling launches the override's instance type from the override's template",
	"consistent-at-once": "an instance is found by DescribeInstances and ModifyInstanceMetadataOptions as soon as " +
		"RunInstances answers; EC2 is eventually consistent and may answer InvalidInstanceID.NotFound for a while " +
		"(fake.Options.PropagationDelay, emulator --propagation-delay)",
	"ignores-source-version": "CreateLaunchTemplateVersion ignores SourceVersion (a number, $Latest or $Default): " +
		"the new version holds only the data sent; EC2 copies the source version's data and replaces what is sent",
	"cloudwatch-cbor-404": "GetMetricData from the SDK's CloudWatch client, which speaks Smithy RPC v2 CBOR, " +
		"answers HTTP 404; CloudWatch returns the MetadataNoToken series (so the fleet's IMDSv1 gate holds " +
		"every instance against moto)",
}

// Server is a running moto_server.
type Server struct {
	// URL is the endpoint, http://127.0.0.1:PORT.
	URL string
}

// Start runs moto_server for the duration of t. See the package comment for
// when it skips.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("moto_server is not on PATH and %s=1: %v", RequireEnv, err)
		}
		t.Skipf("moto_server is not on PATH (set %s=1 to fail instead): %v", RequireEnv, err)
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	testproc.Tie(cmd)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_DEFAULT_REGION="+Region)
	out, err := os.CreateTemp(t.TempDir(), "moto-*.log")
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start moto_server: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cancel()
		<-exited
		out.Close()
	})
	s := &Server{URL: "http://127.0.0.1:" + strconv.Itoa(port)}
	if err := s.ready(exited); err != nil {
		log, _ := os.ReadFile(out.Name())
		t.Fatalf("moto_server did not come up: %v\n%s", err, log)
	}
	return s
}

// ready polls GET /moto-api/ until it answers, the process exits, or 30 s
// pass.
func (s *Server) ready(exited <-chan struct{}) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get(s.URL + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("it exited")
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return err
		}
	}
}

// Client returns a real *ec2.Client for the emulator: static test
// credentials, Region us-east-1, BaseEndpoint set to the server, and optFns
// applied last.
func (s *Server) Client(t testing.TB, optFns ...func(*ec2.Options)) *ec2.Client {
	t.Helper()
	return ec2.NewFromConfig(s.config(t), append([]func(*ec2.Options){func(o *ec2.Options) {
		o.BaseEndpoint = aws.String(s.URL)
	}}, optFns...)...)
}

// CloudWatch returns a real *cloudwatch.Client for the emulator, set up like
// Client. See Deviations["cloudwatch-cbor-404"].
func (s *Server) CloudWatch(t testing.TB, optFns ...func(*cloudwatch.Options)) *cloudwatch.Client {
	t.Helper()
	return cloudwatch.NewFromConfig(s.config(t), append([]func(*cloudwatch.Options){func(o *cloudwatch.Options) {
		o.BaseEndpoint = aws.String(s.URL)
	}}, optFns...)...)
}

// AutoScaling returns a real *autoscaling.Client for the emulator, set up
// like Client.
func (s *Server) AutoScaling(t testing.TB, optFns ...func(*autoscaling.Options)) *autoscaling.Client {
	t.Helper()
	return autoscaling.NewFromConfig(s.config(t), append([]func(*autoscaling.Options){func(o *autoscaling.Options) {
		o.BaseEndpoint = aws.String(s.URL)
	}}, optFns...)...)
}

func (s *Server) config(t testing.TB) aws.Config {
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion(Region),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")),
	)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
