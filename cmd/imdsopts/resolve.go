package main

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts"
)

const opResolve = "ResolveInstanceMetadataOptions"

// resolve prints the options an instance launched from an AMI gets, each
// with its source.
func (a *app) resolve(ctx context.Context, g *globals, args []string) error {
	var image optString
	var o optionFlags
	fs := newFlagSet("resolve")
	fs.Var(&image, "image-id", "`AMI` the AMI (required)")
	o.register(fs)
	if done, err := a.parseSubcommand("resolve", g, fs, args, nil); done || err != nil {
		return err
	}
	p, err := a.newPrinter(g)
	if err != nil {
		return err
	}
	if !image.set {
		return usageErrorf("the following arguments are required: --image-id")
	}
	if image.value == "" {
		return usageErrorf(`--image-id "": must be an AMI ID such as ami-0123456789abcdef0`)
	}
	set, err := o.values().set(nil)
	if err != nil {
		return err
	}
	if err := checkQuery(p, effectiveDoc(fullEffective)); err != nil {
		return err
	}
	api, err := a.client(ctx, g)
	if err != nil {
		return err
	}
	launch, err := imdsopts.LaunchForImage(ctx, api, image.value, set)
	if err != nil {
		return err
	}
	eff, rerr := imdsopts.Resolve(launch)
	if rerr != nil && !errors.Is(rerr, imdsopts.ErrIMDSv2Enforced) {
		return rerr
	}
	// The refusal first: it decides the exit status.
	return joinFailures(rerr, a.print(p, output{title: opResolve, doc: effectiveDoc(eff)}))
}

// effectiveDoc is the output of resolve: each option's value and source.
func effectiveDoc(e imdsopts.Effective) map[string]any {
	value := func(v any, s imdsopts.Source) map[string]any {
		return map[string]any{"Value": v, "Source": s.String()}
	}
	return map[string]any{
		"HttpTokens":              value(string(e.HTTPTokens.Value), e.HTTPTokens.Source),
		"HttpPutResponseHopLimit": value(float64(e.HopLimit.Value), e.HopLimit.Source),
		"HttpEndpoint":            value(string(e.HTTPEndpoint.Value), e.HTTPEndpoint.Source),
		"HttpProtocolIpv6":        value(string(e.HTTPProtocolIPv6.Value), e.HTTPProtocolIPv6.Source),
		"InstanceMetadataTags":    value(string(e.InstanceMetadataTags.Value), e.InstanceMetadataTags.Source),
	}
}

// fullEffective is an Effective with every value set, for the skeleton of
// resolve's output.
var fullEffective = imdsopts.Effective{
	HTTPTokens:           imdsopts.Value[types.HttpTokensState]{Value: types.HttpTokensStateRequired, Source: imdsopts.SourceAMI},
	HopLimit:             imdsopts.Value[int32]{Value: 2, Source: imdsopts.SourceAMI},
	HTTPEndpoint:         imdsopts.Value[types.InstanceMetadataEndpointState]{Value: types.InstanceMetadataEndpointStateEnabled, Source: imdsopts.SourceDefault},
	HTTPProtocolIPv6:     imdsopts.Value[types.InstanceMetadataProtocolState]{Value: types.InstanceMetadataProtocolStateDisabled, Source: imdsopts.SourceDefault},
	InstanceMetadataTags: imdsopts.Value[types.InstanceMetadataTagsState]{Value: types.InstanceMetadataTagsStateDisabled, Source: imdsopts.SourceDefault},
}
