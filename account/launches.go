package account

import (
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/internal/check"
)

// What a launch gives a new instance: every way the account launches
// instances (a launch template version as a group or a caller selects it,
// a launch configuration) is resolved with EC2's precedence ([Resolve]),
// the account defaults of the inventory and the image's ImdsSupport. It is
// the one rule by which readiness, the template fix and the posture judge
// a launch; what cannot be judged says why, and is never taken as fine.

// outcome is what a launch path gives a new instance. When the path's
// image cannot be described, both of the values its ImdsSupport can have
// are tried, so variants holds two Effectives; when the launch cannot be
// judged at all (its template or version does not exist, or EC2 answered
// values this package does not know), variants is empty and why says so.
type outcome struct {
	variants []imdsopts.Effective
	imageID  string
	image    *types.Image // nil when not described
	why      string       // why the launch cannot be judged
	noImage  string       // why the image is unknown, when it is
}

// tokens returns the HttpTokens the path launches with, and its source, or
// why it cannot be told (its image's ImdsSupport is unknown and decides).
func (o outcome) tokens() (imdsopts.Value[types.HttpTokensState], string) {
	switch {
	case o.why != "":
		return imdsopts.Value[types.HttpTokensState]{}, o.why
	case len(o.variants) == 2 && o.variants[0].HTTPTokens.Value != o.variants[1].HTTPTokens.Value:
		return imdsopts.Value[types.HttpTokensState]{}, "HttpTokens comes from the AMI, and " + o.noImage
	}
	return o.variants[0].HTTPTokens, ""
}

// eval resolves launch l, whose image is imageID, with EC2's precedence
// (Resolve): the one rule by which readiness, the template fix and the
// posture judge a launch. Enforcement is judged by the caller from the
// HttpTokens it resolves to.
func (inv *inventory) eval(l imdsopts.Launch, imageID string) outcome {
	o := outcome{imageID: imageID}
	im := inv.images[imageID]
	switch {
	case im != nil:
		o.image = im
	case imageID == "":
		o.noImage = "the launch names no AMI"
	case !strings.HasPrefix(imageID, "ami-"):
		o.noImage = "its AMI " + check.Quote(imageID) + " is not an AMI ID EC2 resolved"
	default:
		o.noImage = "its AMI " + imageID + " could not be described (deregistered, or not shared with the account)"
	}
	acct := inv.defaults.Response()
	acct.HttpTokensEnforced = "" // judged by the caller
	l.Account = acct
	supports := []types.ImdsSupportValues{""}
	if im != nil {
		supports[0] = im.ImdsSupport
	} else {
		supports = append(supports, types.ImdsSupportValuesV20)
	}
	for _, s := range supports {
		l.ImdsSupport = s
		e, err := imdsopts.Resolve(l)
		if err != nil {
			return outcome{imageID: imageID, image: im, why: "EC2 answered values this package does not know: " + err.Error()}
		}
		o.variants = append(o.variants, e)
	}
	return o
}

// evalPath resolves a launch path with the inventory's defaults.
func (inv *inventory) evalPath(p launchPath) outcome {
	if p.config != "" {
		return inv.evalConfig(p.config)
	}
	n, why := p.version()
	if why != "" {
		return outcome{why: why}
	}
	return inv.evalVersion(p.template, n, p.imageID)
}

// evalVersion resolves version n of t, launched with image override (or
// the version's own image when empty).
func (inv *inventory) evalVersion(t *templateInfo, n int64, image string) outcome {
	if t.gone != "" {
		return outcome{why: t.gone}
	}
	v := t.versions[n]
	if v == nil {
		why := t.missing[n]
		if why == "" {
			why = fmt.Sprintf("version %d of launch template %s could not be read", n, t.id)
		}
		return outcome{why: why}
	}
	var l imdsopts.Launch
	if d := v.LaunchTemplateData; d != nil {
		l.Template = d.MetadataOptions
		if image == "" {
			image = aws.ToString(d.ImageId)
		}
	}
	return inv.eval(l, image)
}

// evalConfig resolves a launch configuration, whose MetadataOptions are
// the launch parameters EC2 Auto Scaling launches with (that it passes
// them to EC2 as a RunInstances call's own, with the account defaults and
// the AMI below them, is modelled, not documented: unverified).
func (inv *inventory) evalConfig(name string) outcome {
	lc := inv.configs[name]
	if lc == nil {
		return outcome{why: "launch configuration " + check.Quote(name) + " does not exist"}
	}
	var opts []imdsopts.Option
	if m := lc.MetadataOptions; m != nil {
		if m.HttpTokens != "" {
			opts = append(opts, imdsopts.HTTPTokens(types.HttpTokensState(m.HttpTokens)))
		}
		if m.HttpPutResponseHopLimit != nil {
			opts = append(opts, imdsopts.HopLimit(*m.HttpPutResponseHopLimit))
		}
		if m.HttpEndpoint != "" {
			opts = append(opts, imdsopts.HTTPEndpoint(types.InstanceMetadataEndpointState(m.HttpEndpoint)))
		}
	}
	s, err := imdsopts.New(opts...)
	if err != nil {
		return outcome{why: "EC2 Auto Scaling answered values this package does not know: " + err.Error()}
	}
	return inv.eval(imdsopts.Launch{Options: s}, aws.ToString(lc.ImageId))
}
