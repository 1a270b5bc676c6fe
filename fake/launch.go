package fake

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// LaunchOptions configures [EC2.Launch].
type LaunchOptions struct {
	// ImageID names a registered image to launch from. If empty, Launch
	// registers a new image with ImdsSupport, named "launch-" followed by
	// its ID.
	ImageID string

	// ImdsSupport is the ImdsSupport of the image Launch registers: empty,
	// or "v2.0" for an image whose instances require IMDSv2 unless the
	// launch or the account defaults say otherwise. It must be empty when
	// ImageID is set.
	ImdsSupport types.ImdsSupportValues

	// MetadataOptions are the launch parameters for the instance metadata
	// options, as in RunInstances: each one given overrides the account
	// defaults and the image. Nil gives none.
	MetadataOptions *types.InstanceMetadataOptionsRequest

	// Tags are the instances' tags. Keys must not be empty.
	Tags map[string]string

	// Stopped launches the instances stopped, as if StopInstances had been
	// called at once.
	Stopped bool

	// InstanceType is the instances' type; empty by default.
	InstanceType types.InstanceType

	// DetailedMonitoring launches the instances with detailed monitoring,
	// as RunInstances does with Monitoring.Enabled: a CloudWatch tied to
	// the fake publishes their metrics every minute, not every 5 minutes.
	DetailedMonitoring bool
}

// Launch seeds the fake with n instances and returns their IDs in launch
// order. It is the one-call setup of a test: where RunInstances needs a
// registered image and launches at most 1000 instances a call, Launch
// registers an image when LaunchOptions.ImageID is empty, and launches any
// number of instances, in reservations of 1000.
//
// The instances' metadata options are resolved exactly as RunInstances
// resolves them: the launch parameters of LaunchOptions.MetadataOptions, the
// account defaults, the image, the built-in defaults; and an account that
// enforces IMDSv2 refuses a launch that does not resolve HttpTokens to
// required, with the error RunInstances answers. Every error is an EC2
// error of RunInstances (a *smithy.OperationError carrying an EC2 error
// code), the same RunInstances answers for the same fault, and a failed
// Launch changes nothing: no image is registered and no instance launched.
//
// Launch is seeding, not an API call: it is not counted by [EC2.Calls],
// takes no token from any of the buckets of [Options.Throttle], and neither
// [EC2.FailNext] nor [EC2.Deny] affect it. Like RunInstances, it honours
// [Options.PropagationDelay]: the new IDs are not found until it has passed,
// so a test can exercise just-launched instances. It reads the clock with
// time.Now, so it works inside a testing/synctest bubble and outside one
// alike (see the package documentation on creating the fake in the bubble).
func (f *EC2) Launch(n int, optFns ...func(*LaunchOptions)) ([]string, error) {
	const op = opRunInstances
	var o LaunchOptions
	for _, fn := range optFns {
		if fn != nil {
			fn(&o)
		}
	}
	if n < 1 {
		return nil, badRequest(op, codeInvalidParameterValue,
			"Value (%d) for the number of instances to launch is invalid: it must be at least 1.", n)
	}
	tags := make([]types.Tag, 0, len(o.Tags))
	for _, k := range slices.Sorted(maps.Keys(o.Tags)) {
		if k == "" {
			return nil, badRequest(op, codeInvalidParameterValue, "Tag keys must not be empty")
		}
		tags = append(tags, types.Tag{Key: aws.String(k), Value: aws.String(o.Tags[k])})
	}
	if len(tags) == 0 {
		tags = nil
	}
	spec := launchSpec{instanceType: o.InstanceType, tags: tags, monitoring: o.DetailedMonitoring}
	spec.md = launchRequest(o.MetadataOptions)

	f.mu.Lock()
	defer f.mu.Unlock()
	register := o.ImageID == ""
	if register {
		if err := checkEnum(op, "ImdsSupport", o.ImdsSupport, types.ImdsSupportValuesV20); err != nil {
			return nil, err
		}
		// Resolved against an image not yet registered, so that a refused
		// launch leaves no image behind.
		spec.image = &image{imdsSupport: o.ImdsSupport}
	} else {
		if o.ImdsSupport != "" {
			return nil, badRequest(op, codeInvalidCombination,
				"ImdsSupport (%s) is the ImdsSupport of an image to register; it cannot be used with ImageID (%s).", o.ImdsSupport, o.ImageID)
		}
		if !isHexID(o.ImageID, "ami") {
			return nil, badRequest(op, codeAMIMalformed, "Invalid id: %q", o.ImageID)
		}
		if spec.image = f.images[o.ImageID]; spec.image == nil {
			return nil, amiNotFound(op, o.ImageID)
		}
	}
	md, err := f.resolveLaunch(op, spec)
	if err != nil {
		return nil, err
	}

	if register {
		id := f.nextImage + 1
		name := fmt.Sprintf("launch-ami-%017x", id)
		for k := 2; f.imageNames[name] != nil; k++ {
			name = fmt.Sprintf("launch-ami-%017x-%d", id, k)
		}
		spec.image = f.register(name, o.ImdsSupport, nil)
	}
	now := time.Now()
	ids := make([]string, 0, n)
	for left := n; left > 0; left -= maxLaunch {
		for _, i := range f.launch(spec, md, min(left, maxLaunch), now) {
			if o.Stopped {
				i.setState(types.InstanceStateNameStopped, now)
			}
			ids = append(ids, i.id)
		}
	}
	return ids, nil
}

// Propagate makes every instance launched so far found at once, as if
// [Options.PropagationDelay] had passed for each: for a test, or an
// emulator, whose seeded instances stand for ones launched long before,
// while the instances launched later are not found for the delay. It is
// seeding, not an API call.
func (f *EC2) Propagate() {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	for _, i := range f.order {
		if i.visibleAt.After(now) {
			i.visibleAt = now
		}
	}
}
