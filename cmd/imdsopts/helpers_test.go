package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts/fake"
)

// result is what one run of the command produced.
type result struct {
	code           int
	stdout, stderr string
}

// runFake runs the command in-process against f; a nil f fails the test
// when the command tries to build an API client.
func runFake(t *testing.T, f *fake.EC2, args ...string) result {
	t.Helper()
	return runFakeCtx(t, context.Background(), f, args...)
}

// fakeAPI returns an API constructor that returns f.
func fakeAPI(f *fake.EC2) newAPIFunc {
	return func(context.Context, *globals, io.Writer) (API, error) { return f, nil }
}

func runFakeCtx(t *testing.T, ctx context.Context, f *fake.EC2, args ...string) result {
	t.Helper()
	newAPI := fakeAPI(f)
	if f == nil {
		newAPI = func(context.Context, *globals, io.Writer) (API, error) {
			t.Errorf("imdsopts %s: built an API client, but should have stopped before", strings.Join(args, " "))
			return nil, io.EOF
		}
	}
	var stdout, stderr bytes.Buffer
	code := runWith(ctx, args, strings.NewReader(""), &stdout, &stderr, noEnv, newAPI)
	return result{code, stdout.String(), stderr.String()}
}

func noEnv(string) string { return "" }

// runSDK runs the command in-process with the real SDK client; the caller
// sets the environment (see sdkEnv).
func runSDK(t *testing.T, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr, os.Getenv)
	return result{code, stdout.String(), stderr.String()}
}

// sdkEnv isolates the SDK from the machine's configuration: test
// credentials, us-east-1, no shared files, no instance metadata.
func sdkEnv(t *testing.T) {
	t.Helper()
	home := t.TempDir()
	for k, v := range map[string]string{
		"HOME":                        home,
		"AWS_ACCESS_KEY_ID":           "test",
		"AWS_SECRET_ACCESS_KEY":       "test",
		"AWS_SESSION_TOKEN":           "",
		"AWS_DEFAULT_REGION":          "us-east-1",
		"AWS_REGION":                  "",
		"AWS_PROFILE":                 "",
		"AWS_CONFIG_FILE":             filepath.Join(home, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(home, "credentials"),
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_ENDPOINT_URL":            "",
		"AWS_ENDPOINT_URL_EC2":        "",
		"AWS_CA_BUNDLE":               "",
		"AWS_MAX_ATTEMPTS":            "3", // the SDK's default: it retries a response cut short
		"AWS_DEFAULT_OUTPUT":          "",
	} {
		t.Setenv(k, v)
	}
}

// newFake returns a fake that applies changes at once, with one running
// instance launched from an image with the given ImdsSupport.
func newFake(t *testing.T, imds types.ImdsSupportValues) (f *fake.EC2, imageID, instanceID string) {
	t.Helper()
	f = fake.New(func(o *fake.Options) { o.ApplyDelay = 0 })
	ctx := context.Background()
	img, err := f.RegisterImage(ctx, &ec2.RegisterImageInput{Name: aws.String("base"), ImdsSupport: imds})
	if err != nil {
		t.Fatal(err)
	}
	out, err := f.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: img.ImageId, MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	return f, aws.ToString(img.ImageId), aws.ToString(out.Instances[0].InstanceId)
}

// currentOptions returns the fake instance's options as DescribeInstances
// reports them.
func currentOptions(t *testing.T, api interface {
	DescribeInstances(context.Context, *ec2.DescribeInstancesInput, ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error)
}, id string) *types.InstanceMetadataOptionsResponse {
	t.Helper()
	out, err := api.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	inst := findInstance(out, id)
	if inst == nil {
		t.Fatalf("instance %s not described", id)
	}
	return inst.MetadataOptions
}

// wantCode fails the test unless r ended with code; it shows the output.
func wantCode(t *testing.T, r result, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
}

// parseJSON parses a JSON output.
func parseJSON(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, s)
	}
	return v
}
