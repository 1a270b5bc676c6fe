//go:build unix

package testenv

import (
	"net"
	"strconv"
	"syscall"
	"testing"
)

// RefusedURL returns "http://127.0.0.1:PORT" for a loopback port that
// refuses every connection until the test ends: a socket is bound to the
// port but never listens, so a connection gets no listener (refused at
// once), and no other server of the tests, or of the machine, can take the
// port meanwhile, as it could take one that was listened on and closed.
func RefusedURL(t testing.TB) string {
	t.Helper()
	// Close-on-exec, set under ForkLock as package net does: a process the
	// test starts must not inherit the socket.
	syscall.ForkLock.RLock()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err == nil {
		syscall.CloseOnExec(fd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		t.Fatalf("a socket for a refusing port: %v", err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatalf("bind a refusing port: %v", err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatalf("the refusing port: %v", err)
	}
	in4, ok := sa.(*syscall.SockaddrInet4)
	if !ok {
		t.Fatalf("the refusing port: %T", sa)
	}
	return "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(in4.Port))
}
