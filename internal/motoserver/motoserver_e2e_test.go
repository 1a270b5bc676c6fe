//go:build e2e

package motoserver_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/imdsopts/imdsopts/internal/motoserver"
)

func TestE2EStartServesEC2(t *testing.T) {
	s := motoserver.Start(t)
	out, err := s.Client(t).DescribeInstances(t.Context(), &ec2.DescribeInstancesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Reservations) != 0 {
		t.Errorf("a new emulator has %d reservations", len(out.Reservations))
	}
}
