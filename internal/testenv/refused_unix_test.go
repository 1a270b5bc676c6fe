//go:build unix

package testenv_test

import (
	"errors"
	"net"
	"net/url"
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
