package main

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts"
)

const opDescribe = "DescribeInstanceMetadataOptions"

// describe prints an instance's metadata options in the shape of
// modify-instance-metadata-options' output.
func (a *app) describe(ctx context.Context, g *globals, args []string) error {
	var id optString
	fs := newFlagSet("describe")
	fs.Var(&id, "instance-id", "`ID` the instance (required)")
	if done, err := a.parseSubcommand("describe", g, fs, args, nil); done || err != nil {
		return err
	}
	p, err := a.newPrinter(g)
	if err != nil {
		return err
	}
	if !id.set {
		return usageErrorf("the following arguments are required: --instance-id")
	}
	if err := imdsopts.ValidateInstanceID(id.value); err != nil {
		return flagErrors(err, nil)
	}
	if err := checkQuery(p, optionsSkeleton()); err != nil {
		return err
	}
	api, err := a.client(ctx, g)
	if err != nil {
		return err
	}
	out, err := api.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id.value}})
	if err != nil {
		return err
	}
	inst := findInstance(out, id.value)
	if inst == nil {
		return fmt.Errorf("DescribeInstances did not return %s", id.value)
	}
	return a.print(p, output{title: opDescribe, doc: optionsDoc(inst.InstanceId, inst.MetadataOptions)})
}

func findInstance(out *ec2.DescribeInstancesOutput, id string) *types.Instance {
	for _, r := range out.Reservations {
		for i := range r.Instances {
			if aws.ToString(r.Instances[i].InstanceId) == id {
				return &r.Instances[i]
			}
		}
	}
	return nil
}
