//go:build unix

package testenv_test

import (
	"errors"
	"net"
	"net/url"
	"os/exec"
	"syscall"
	"testing"

	"github.com/imdsopts/imdsopts/internal/testenv"
)

// TestRefusedURL: a connection to the port is refused, and the port cannot
// be taken by a listener while the test holds it.
func TestRefusedURL(t *testing.T) {
	u, err := url.Parse(testenv.RefusedURL(t))
	if err != nil {
		t.Fatal(err)
	}
	if c, err := net.Dial("tcp", u.Host); !errors.Is(err, syscall.ECONNREFUSED) {
		if c != nil {
			c.Close()
		}
		t.Errorf("dial %s: %v, want connection refused", u.Host, err)
	}
	if l, err := net.Listen("tcp", u.Host); err == nil {
		l.Close()
		t.Errorf("listen on %s succeeded, want the port held", u.Host)
	}
}

// TestRefusedURLNotInherited: a process the test starts does not inherit
// the socket that holds the port: once the test ends, the port is free,
// although that process still runs.
func TestRefusedURLNotInherited(t *testing.T) {
	var host string
	child := exec.Command("sh", "-c", "read x")
	stdin, err := child.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Run("hold", func(t *testing.T) {
		u, err := url.Parse(testenv.RefusedURL(t))
		if err != nil {
			t.Fatal(err)
		}
		host = u.Host
		if err := child.Start(); err != nil {
			t.Fatal(err)
		}
	})
	defer func() {
		stdin.Close()
		child.Wait()
	}()
	l, err := net.Listen("tcp", host)
	if err != nil {
		t.Fatalf("listen on %s after the test that held it: %v (the child inherited the socket)", host, err)
	}
	l.Close()
}
