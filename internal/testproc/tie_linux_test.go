package testproc_test

import (
	"io"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/imdsopts/imdsopts/internal/testproc"
)

// A process tied to its parent is killed when the parent ends. The parent
// here is this test binary run again, which starts a tied child (this test
// binary once more, waiting for ever) whose standard output is the write
// end of a pipe this test reads: the read ends when the child's copy
// closes, that is, when it dies. The parent is then killed with SIGKILL,
// which runs no code of its own.
func TestTiedProcessEndsWithItsParent(t *testing.T) {
	switch os.Getenv("TESTPROC_ROLE") {
	case "child":
		select {}
	case "parent":
		cmd := exec.Command(os.Args[0], "-test.run=^TestTiedProcessEndsWithItsParent$")
		cmd.Env = append(os.Environ(), "TESTPROC_ROLE=child")
		cmd.Stdout = os.NewFile(3, "pipe")
		testproc.Tie(cmd)
		if err := cmd.Start(); err != nil {
			os.Exit(2)
		}
		cmd.Stdout.(*os.File).Close()
		os.Stdout.WriteString("started\n")
		cmd.Wait()
		os.Exit(0)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	parent := exec.Command(os.Args[0], "-test.run=^TestTiedProcessEndsWithItsParent$")
	parent.Env = append(os.Environ(), "TESTPROC_ROLE=parent")
	parent.ExtraFiles = []*os.File{w}
	out, err := parent.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	buf := make([]byte, len("started\n"))
	if _, err := io.ReadFull(out, buf); err != nil {
		parent.Process.Kill()
		t.Fatalf("the parent did not start its child: %v", err)
	}
	parent.Process.Kill()
	parent.Wait()
	gone := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, r)
		gone <- err
	}()
	select {
	case err := <-gone:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the tied process outlived its killed parent by 30 s")
	}
}
