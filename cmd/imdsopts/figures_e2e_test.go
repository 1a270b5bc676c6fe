//go:build e2e

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/imdsopts/imdsopts/internal/testproc"
)

// TestE2EFleetOverTheWireFigures runs the built binary twice, as a user
// would: "imdsopts emulator --throttle --instances 200" and "imdsopts apply"
// against it, requiring IMDSv2 on all 200 instances within EC2's request
// limits, and prints the wall time, the calls and the throttled answers.
// Past the bucket's 100 calls, EC2 refills ModifyInstanceMetadataOptions at
// 5 a second, so the other 100 take 20 s at least (the simulations show
// 10,000 and 100,000 instances in simulated time); it runs only with
// IMDSOPTS_FIGURES=1, as .ci/run sets it.
func TestE2EFleetOverTheWireFigures(t *testing.T) {
	t.Parallel()
	if os.Getenv("IMDSOPTS_FIGURES") != "1" {
		t.Skip("prints figures only with IMDSOPTS_FIGURES=1")
	}
	const n = 200
	bin := binary(t)
	env := []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH"),
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_DEFAULT_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true"}
	emu := exec.Command(bin, "emulator", "--throttle", "--instances", fmt.Sprint(n), "--log")
	testproc.Tie(emu)
	emu.Env = env
	out, err := emu.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	emu.Stderr = &log
	if err := emu.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		emu.Process.Signal(syscall.SIGINT)
		emu.Wait()
	}()
	rd := bufio.NewReader(out)
	first, err := rd.ReadString('\n')
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	go io.Copy(io.Discard, rd)
	url := emulatorURL(t, first)

	start := time.Now()
	r := execute(t, env, bin, "apply", "--endpoint-url", url, "--filters", "Name=instance-state-name,Values=running",
		"--http-tokens", "required", "--query", "{Counts: Counts, Calls: Calls, Throttled: Throttled}")
	wall := time.Since(start)
	wantCode(t, r, exitOK)
	var doc struct {
		Counts, Calls map[string]float64
		Throttled     float64
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if doc.Counts["applied"] != n {
		t.Errorf("%v instances applied, want %d: %s", doc.Counts["applied"], n, r.stdout)
	}
	served := map[string]int{}
	for _, line := range strings.Split(log.String(), "\n") {
		if f := strings.Fields(line); len(f) >= 5 {
			served[f[2]+" "+f[3]+" "+f[4]]++
		}
	}
	keys := make([]string, 0, len(served))
	for k := range served {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Printf("fleet over the wire: imdsopts apply, %d instances, EC2's throttling on: wall time %.1fs\n", n, wall.Seconds())
	fmt.Printf("fleet over the wire: library calls %v, throttled answers retried %v\n", doc.Calls, doc.Throttled)
	for _, k := range keys {
		fmt.Printf("fleet over the wire: emulator answered %-60s %d\n", k, served[k])
	}
}
