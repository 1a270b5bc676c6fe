package main

import (
	"context"
	"errors"
	"fmt"
	"math"

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
	fs.Var(&image, "image-id", "")
	o.register(fs)
	if done, err := a.parseSubcommand("resolve", g, fs, args, nil); done || err != nil {
		return err
	}
	p, err := newPrinter(g, a.getenv, a.stdout)
	if err != nil {
		return err
	}
	if !image.set {
		return usageErrorf("the following arguments are required: --image-id")
	}
	if image.value == "" {
		return usageErrorf(`--image-id "": must be an AMI ID such as ami-0123456789abcdef0`)
	}
	set, err := launchSet(&o)
	if err != nil {
		return err
	}
	api, err := a.newAPI(ctx, g, a.stderr)
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
	if err := p.print(a.stdout, opResolve, effectiveDoc(eff)); err != nil {
		return err
	}
	return rerr
}

// launchSet validates the launch options given on the command line.
func launchSet(o *optionFlags) (imdsopts.Set, error) {
	var opts []imdsopts.Option
	if o.tokens.set {
		opts = append(opts, imdsopts.HTTPTokens(types.HttpTokensState(o.tokens.value)))
	}
	if o.hop.set {
		if o.hop.value < math.MinInt32 || o.hop.value > math.MaxInt32 {
			return imdsopts.Set{}, flagErrors(&imdsopts.ValidationError{Field: "HttpPutResponseHopLimit",
				Value: fmt.Sprint(o.hop.value), Rule: fmt.Sprintf("must be %d..%d", imdsopts.MinHopLimit, imdsopts.MaxHopLimit)}, nil)
		}
		opts = append(opts, imdsopts.HopLimit(int32(o.hop.value)))
	}
	if o.endpoint.set {
		opts = append(opts, imdsopts.HTTPEndpoint(types.InstanceMetadataEndpointState(o.endpoint.value)))
	}
	if o.ipv6.set {
		opts = append(opts, imdsopts.HTTPProtocolIPv6(types.InstanceMetadataProtocolState(o.ipv6.value)))
	}
	if o.tags.set {
		opts = append(opts, imdsopts.InstanceMetadataTags(types.InstanceMetadataTagsState(o.tags.value)))
	}
	set, err := imdsopts.New(opts...)
	if err != nil {
		return imdsopts.Set{}, flagErrors(err, nil)
	}
	return set, nil
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
