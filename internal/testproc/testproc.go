// Package testproc ties the processes that tests start (servers, shells,
// emulators) to the test binary, so that a test binary killed by go test's
// -timeout does not leave them running, holding ports and memory.
package testproc
