//go:build e2e

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/imdsopts/imdsopts/fake"
)

// killer serves a fake EC2 and CloudWatch over HTTP, counts the
// ModifyInstanceMetadataOptions calls that changed an instance's options,
// per instance, and kills the command under test with SIGKILL when the
// request it waits for arrives.
type killer struct {
	next http.Handler
	ec2  *fake.EC2

	mu sync.Mutex
	// changed counts, per instance, the calls that changed its options (a
	// call the SDK sends again after losing its answer changes nothing
	// the second time); arrived counts the Modify requests that arrived.
	changed map[string]int
	arrived int
	// kill, when set, says whether the request r (its form) is the one at
	// which to kill the command, and whether that request is then lost
	// (never reaches the fake) or still served; it is unset once used.
	kill    func(k *killer, form url.Values) (now, lost bool)
	cmd     *exec.Cmd
	exited  chan struct{} // closed once the killed command's Wait returned
	handled chan struct{} // closed once the request that killed it is handled
}

func (k *killer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var form url.Values
	if !strings.HasPrefix(r.URL.Path, "/service/") && r.Method == http.MethodPost {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		form, _ = url.ParseQuery(string(body))
	}
	action := form.Get("Action")
	k.mu.Lock()
	if action == "ModifyInstanceMetadataOptions" {
		k.arrived++
	}
	kill := k.kill
	now, lost := false, false
	if kill != nil {
		if now, lost = kill(k, form); now {
			k.kill = nil
		}
	}
	k.mu.Unlock()
	if now {
		k.cmd.Process.Signal(syscall.SIGKILL)
		<-k.exited
		defer close(k.handled)
		if lost {
			return
		}
	}
	if action != "ModifyInstanceMetadataOptions" {
		k.next.ServeHTTP(w, r)
		return
	}
	id := form.Get("InstanceId")
	before := k.options(id)
	k.next.ServeHTTP(w, r)
	if after := k.options(id); after != before {
		k.mu.Lock()
		k.changed[id]++
		k.mu.Unlock()
	}
}

// options are the values of instance id's five options, as the fake has
// them.
func (k *killer) options(id string) string {
	out, err := k.ec2.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil || findInstance(out, id) == nil {
		return "unknown"
	}
	o := findInstance(out, id).MetadataOptions
	return fmt.Sprintf("%s %d %s %s %s", o.HttpTokens, aws.ToInt32(o.HttpPutResponseHopLimit), o.HttpEndpoint, o.HttpProtocolIpv6, o.InstanceMetadataTags)
}

// reset forgets the changes counted so far.
func (k *killer) reset() map[string]int {
	k.mu.Lock()
	defer k.mu.Unlock()
	c := k.changed
	k.changed = map[string]int{}
	return c
}

// The built command, journaling an apply over HTTP, is killed with
// SIGKILL at several points: as the k-th change arrives (and that change
// is made, or lost with the connection), and while it waits for EC2 to
// apply the changes. apply --resume then finishes the run with no instance
// changed twice, and undo restores every instance's five options.
func TestE2EKilledApplyResumesAndUndoes(t *testing.T) {
	t.Parallel()
	const n = 20
	modifyAt := func(at int, lost bool) func(*killer, url.Values) (bool, bool) {
		return func(k *killer, form url.Values) (bool, bool) {
			return form.Get("Action") == "ModifyInstanceMetadataOptions" && k.arrived == at, lost
		}
	}
	for _, tt := range []struct {
		name string
		kill func(*killer, url.Values) (now, lost bool)
	}{
		{"at the 1st change, made", modifyAt(1, false)},
		{"at the 7th change, lost", modifyAt(7, true)},
		{"at the 15th change, made", modifyAt(15, false)},
		{"at the last change, lost", modifyAt(n, true)},
		{"while waiting", func(k *killer, form url.Values) (bool, bool) {
			return form.Get("Action") == "DescribeInstances" && k.arrived == n, false
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// The SDK's own retries, as a person has them: on a busy
			// machine its HTTP client may lose an answer whose body it is
			// reading ("use of closed network connection"), which the SDK
			// then sends again.
			bin, env := binary(t), append(binaryEnv(t), "AWS_MAX_ATTEMPTS=3")
			f := fake.New(func(o *fake.Options) { o.ApplyDelay = 500 * time.Millisecond })
			cw := fake.NewCloudWatch(func(o *fake.CloudWatchOptions) { o.EC2 = f })
			var ids []string
			for i := range n {
				opts := &types.InstanceMetadataOptionsRequest{HttpTokens: types.HttpTokensStateOptional}
				switch i % 3 {
				case 1:
					opts.InstanceMetadataTags = types.InstanceMetadataTagsStateEnabled
				case 2:
					opts.HttpProtocolIpv6 = types.InstanceMetadataProtocolStateEnabled
					opts.HttpPutResponseHopLimit = aws.Int32(3)
				}
				got, err := f.Launch(1, func(o *fake.LaunchOptions) {
					o.MetadataOptions, o.Tags = opts, map[string]string{"env": "prod"}
				})
				if err != nil {
					t.Fatal(err)
				}
				cw.PutMetadataNoToken(got[0], time.Now().Add(-time.Hour), 0)
				ids = append(ids, got[0])
			}
			before := fiveOptions(t, f, ids)
			k := &killer{next: fake.NewHandler(f, func(o *fake.HandlerOptions) { o.CloudWatch = cw }), ec2: f, changed: map[string]int{},
				kill: tt.kill, exited: make(chan struct{}), handled: make(chan struct{})}
			srv := httptest.NewServer(k)
			defer srv.Close()
			path := filepath.Join(t.TempDir(), "run.jsonl")

			cmd := exec.Command(bin, "apply", "--endpoint-url", srv.URL, "--tags", "env=prod", "--http-tokens", "required",
				"--http-put-response-hop-limit", "1", "--journal", path)
			cmd.Env = env
			var stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = io.Discard, &stderr
			k.mu.Lock()
			k.cmd = cmd
			err := cmd.Start()
			k.mu.Unlock()
			if err != nil {
				t.Fatal(err)
			}
			var waitErr error
			go func() { waitErr = cmd.Wait(); close(k.exited) }()
			select {
			case <-k.exited:
			case <-time.After(time.Minute):
				cmd.Process.Kill()
				<-k.exited
				t.Fatalf("apply never reached the point to kill it at\n%s", stderr.String())
			}
			if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
				t.Fatalf("apply ended before it was killed: %v\n%s", waitErr, stderr.String())
			}
			<-k.handled // the request it was killed at is made, or lost

			r := execute(t, env, bin, "apply", "--resume", path, "--endpoint-url", srv.URL, "--query", "Counts.applied")
			wantCode(t, r, exitOK)
			if !strings.Contains(r.stderr, "imdsopts: note: the endpoint does not serve STS GetCallerIdentity") {
				t.Errorf("resume's stderr %q", r.stderr)
			}
			changes := k.reset()
			for _, id := range ids {
				if changes[id] != 1 {
					t.Errorf("%s changed %d times by apply and resume, want once", id, changes[id])
				}
				if got := currentOptions(t, f, id); got.HttpTokens != "required" || aws.ToInt32(got.HttpPutResponseHopLimit) != 1 || got.State != "applied" {
					t.Errorf("%s after resume: %+v", id, got)
				}
			}
			// Whether it changed an instance or only waited for it, resume
			// reports it applied.
			if r.stdout != fmt.Sprintf("%d\n", n) {
				t.Errorf("resume: %q applied, want %d", r.stdout, n)
			}

			r = execute(t, env, bin, "undo", path, "--endpoint-url", srv.URL, "--query", "Counts.\"rolled-back\"")
			wantCode(t, r, exitOK)
			if r.stdout != fmt.Sprintf("%d\n", n) {
				t.Errorf("undo: %q\n%s", r.stdout, r.stderr)
			}
			if diff := cmp.Diff(before, fiveOptions(t, f, ids)); diff != "" {
				t.Errorf("options after undo (-before +after):\n%s", diff)
			}
			for id, c := range k.reset() {
				if c != 1 {
					t.Errorf("%s restored %d times, want once", id, c)
				}
			}
		})
	}
}
