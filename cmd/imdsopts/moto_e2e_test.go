//go:build e2e

package main

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/imdsopts/imdsopts/internal/motoserver"
)

// motoInstance starts moto and launches one instance in it.
func motoInstance(t *testing.T) (srv *motoserver.Server, client *ec2.Client, imageID, instanceID string) {
	t.Helper()
	srv = motoserver.Start(t)
	client = srv.Client(t)
	ctx := context.Background()
	imgs, err := client.DescribeImages(ctx, &ec2.DescribeImagesInput{})
	if err != nil || len(imgs.Images) == 0 {
		t.Fatalf("moto has no images: %v", err)
	}
	imageID = aws.ToString(imgs.Images[0].ImageId)
	out, err := client.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(imageID), MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	return srv, client, imageID, aws.ToString(out.Instances[0].InstanceId)
}

func TestE2EMotoInProcess(t *testing.T) {
	srv, client, image, id := motoInstance(t)
	sdkEnv(t)
	r := runSDK(t, "modify-instance-metadata-options", "--allow-downgrade", "--endpoint-url", srv.URL, "--instance-id", id,
		"--http-tokens", "required", "--http-put-response-hop-limit", "2", "--http-endpoint", "enabled",
		"--http-protocol-ipv6", "disabled", "--instance-metadata-tags", "enabled")
	wantCode(t, r, exitOK)
	want := `{
    "InstanceId": "` + id + `",
    "InstanceMetadataOptions": {
        "State": "applied",
        "HttpTokens": "required",
        "HttpPutResponseHopLimit": 2,
        "HttpEndpoint": "enabled",
        "HttpProtocolIpv6": "disabled",
        "InstanceMetadataTags": "enabled"
    }
}
`
	if r.stdout != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", r.stdout, want)
	}
	if got := currentOptions(t, client, id); got.HttpTokens != "required" || aws.ToInt32(got.HttpPutResponseHopLimit) != 2 {
		t.Errorf("moto has %+v", got)
	}
	r = runSDK(t, "--endpoint-url", srv.URL, "describe", "--instance-id", id)
	wantCode(t, r, exitOK)
	if r.stdout != want {
		t.Errorf("describe:\n%s\nwant:\n%s", r.stdout, want)
	}
	// --wait over HTTP: moto answers applied at once.
	r = runSDK(t, "modify-instance-metadata-options", "--allow-downgrade", "--endpoint-url", srv.URL, "--instance-id", id, "--http-tokens", "optional", "--wait",
		"--query", "InstanceMetadataOptions.HttpTokens", "--output", "text")
	wantCode(t, r, exitOK)
	if r.stdout != "optional\n" {
		t.Errorf("stdout %q", r.stdout)
	}
	// moto ignores DryRun: reported, exit 254.
	r = runSDK(t, "modify-instance-metadata-options", "--endpoint-url", srv.URL, "--instance-id", id, "--http-tokens", "required", "--dry-run")
	wantCode(t, r, exitService)
	if !strings.Contains(r.stderr, "DryRun not honoured by the endpoint") || r.stdout != "" {
		t.Errorf("stdout %q stderr %q", r.stdout, r.stderr)
	}
	// An unknown instance is EC2's error.
	r = runSDK(t, "modify-instance-metadata-options", "--endpoint-url", srv.URL, "--instance-id", "i-0000000000000dead", "--http-tokens", "required")
	wantCode(t, r, exitService)
	if !strings.Contains(r.stderr, "An error occurred (InvalidInstanceID.NotFound) when calling the ModifyInstanceMetadataOptions operation") {
		t.Errorf("stderr %q", r.stderr)
	}
	// resolve: moto answers GetInstanceMetadataDefaults with HTTP 500.
	r = runSDK(t, "resolve", "--endpoint-url", srv.URL, "--image-id", image)
	wantCode(t, r, exitService)
	if r.stdout != "" || !strings.Contains(r.stderr, "GetInstanceMetadataDefaults") || !strings.Contains(r.stderr, "500") {
		t.Errorf("stdout %q stderr %q", r.stdout, r.stderr)
	}
}

// --debug logs the requests and responses, never the credentials.
func TestE2EDebugHidesSecrets(t *testing.T) {
	srv, _, _, id := motoInstance(t)
	sdkEnv(t)
	const secret, token = "SeCrEtKeY-0123456789-abcdefghij", "SeSsIoNtOkEn-9876543210-zyxwvuts"
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
	t.Setenv("AWS_SESSION_TOKEN", token)
	check := func(r result) {
		t.Helper()
		for _, s := range []string{secret, token} {
			if strings.Contains(r.stdout, s) || strings.Contains(r.stderr, s) {
				t.Errorf("a secret is in the output:\nstdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			}
		}
		if !strings.Contains(r.stderr, "Authorization: [REDACTED]") || !strings.Contains(r.stderr, "X-Amz-Security-Token: [REDACTED]") {
			t.Errorf("no redacted request in the debug log:\n%s", r.stderr)
		}
		if !strings.Contains(r.stderr, "Response") {
			t.Errorf("no response in the debug log:\n%s", r.stderr)
		}
	}
	r := runSDK(t, "--debug", "modify-instance-metadata-options", "--endpoint-url", srv.URL, "--instance-id", id, "--http-tokens", "required")
	wantCode(t, r, exitOK)
	check(r)
	r = runSDK(t, "describe", "--debug", "--endpoint-url", srv.URL, "--instance-id", id)
	wantCode(t, r, exitOK)
	check(r)
	r = runSDK(t, "modify-instance-metadata-options", "--debug", "--endpoint-url", srv.URL, "--instance-id", id, "--http-tokens", "required", "--wait")
	wantCode(t, r, exitOK)
	check(r)

	// The same as a built binary.
	env := append(binaryEnv(t), "AWS_ACCESS_KEY_ID=AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY="+secret, "AWS_SESSION_TOKEN="+token)
	r = execute(t, env, binary(t), "--debug", "modify-instance-metadata-options", "--allow-downgrade", "--endpoint-url", srv.URL, "--instance-id", id, "--http-tokens", "optional")
	wantCode(t, r, exitOK)
	check(r)
}

// The built binary, run as a user would.
func TestE2EMotoBinary(t *testing.T) {
	t.Parallel()
	srv, client, _, id := motoInstance(t)
	bin := binary(t)
	env := binaryEnv(t)
	r := execute(t, env, bin, "modify-instance-metadata-options", "--allow-downgrade", "--endpoint-url", srv.URL, "--instance-id", id,
		"--http-tokens", "required", "--http-put-response-hop-limit", "3")
	wantCode(t, r, exitOK)
	doc := parseJSON(t, r.stdout).(map[string]any)
	if doc["InstanceId"] != id {
		t.Errorf("stdout %s", r.stdout)
	}
	if got := currentOptions(t, client, id); got.HttpTokens != "required" || aws.ToInt32(got.HttpPutResponseHopLimit) != 3 {
		t.Errorf("moto has %+v", got)
	}
	r = execute(t, env, bin, "--endpoint-url", srv.URL, "--output", "text", "describe", "--instance-id", id, "--query", "InstanceMetadataOptions.HttpPutResponseHopLimit")
	wantCode(t, r, exitOK)
	if r.stdout != "3\n" {
		t.Errorf("stdout %q", r.stdout)
	}
	r = execute(t, env, bin, "modify-instance-metadata-options", "--endpoint-url", srv.URL, "--instance-id", id, "--http-put-response-hop-limit", "65")
	wantCode(t, r, exitUsage)
	r = execute(t, env, bin, "--version")
	wantCode(t, r, exitOK)
	if !strings.HasPrefix(r.stdout, "imdsopts ") {
		t.Errorf("stdout %q", r.stdout)
	}
	r = execute(t, env, bin, "resolve", "--endpoint-url", srv.URL, "--image-id", "ami-12c6146b")
	wantCode(t, r, exitService)
	// Ctrl-C is exit 130: interrupt a run that waits on an endpoint that
	// accepts connections but never answers.
	hang := hangingEndpoint(t)
	cmd := exec.Command(bin, "describe", "--endpoint-url", hang.url, "--instance-id", id)
	cmd.Env = env
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	<-hang.accepted
	cmd.Process.Signal(os.Interrupt)
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitInterrupted {
		t.Errorf("after SIGINT: %v, want exit %d", err, exitInterrupted)
	}
}
