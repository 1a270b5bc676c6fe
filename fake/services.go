package fake

import (
	"context"
	"errors"
	"reflect"

	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// The API versions and protocol names of the services the handler serves.
const (
	ec2Version              = "2016-11-15"
	cloudWatchVersion       = "2010-08-01"
	cloudWatchServiceName   = "GraniteServiceVersion20100801"
	autoScalingVersion      = "2011-01-01"
	stsVersion              = "2011-06-15"
	organizationsTargetName = "AWSOrganizationsV20161128"
)

// target is the fakes one request reaches: those of its account and
// Region, chosen by the handler's routing (route.go). A nil fake is a
// service not served.
type target struct {
	ec2  *EC2
	cw   *CloudWatch
	as   *AutoScaling
	sts  *STS
	orgs *Organizations
}

// operation is one operation the handler serves.
type operation struct {
	name          string
	input, output reflect.Type // the SDK's input and output structures
	// call runs the operation of the fake of t with in, a pointer to an
	// input structure, and returns a pointer to the output structure (nil
	// for none).
	call func(ctx context.Context, t *target, in any) (reflect.Value, error)
}

// bind makes an operation of a fake's method, given as a method expression
// such as (*EC2).DescribeInstances; recv picks the fake from the target, or
// fails when the target has none.
func bind[R, In, Out, O any](name string, recv func(*target) (R, error), method func(R, context.Context, *In, ...func(*O)) (*Out, error)) operation {
	return operation{
		name:   name,
		input:  reflect.TypeFor[In](),
		output: reflect.TypeFor[Out](),
		call: func(ctx context.Context, t *target, in any) (reflect.Value, error) {
			r, err := recv(t)
			if err != nil {
				return reflect.Value{}, err
			}
			out, err := method(r, ctx, in.(*In))
			if err != nil {
				return reflect.Value{}, err
			}
			return reflect.ValueOf(out), nil
		},
	}
}

// errNotServed answers an operation of a service the handler was given no
// fake for.
var errNotServed = errors.New("not served")

// served returns fake, or errNotServed when it is nil.
func served[R comparable](fake R) (R, error) {
	var zero R
	if fake == zero {
		return zero, errNotServed
	}
	return fake, nil
}

func ec2Of(t *target) (*EC2, error)                     { return served(t.ec2) }
func cloudWatchOf(t *target) (*CloudWatch, error)       { return served(t.cw) }
func autoScalingOf(t *target) (*AutoScaling, error)     { return served(t.as) }
func stsOf(t *target) (*STS, error)                     { return served(t.sts) }
func organizationsOf(t *target) (*Organizations, error) { return served(t.orgs) }

// service is an AWS service the handler serves, with its operations.
type service struct {
	name    string // "EC2"
	version string // the API version Query requests name; empty for none
	xmlns   string // the namespace of its XML answers
	style   queryStyle
	// target is the service's name in X-Amz-Target headers (and RPC v2
	// CBOR paths, when cbor is set); empty when it speaks neither.
	target string
	cbor   bool
	// jsonVersion is the version of its awsJson protocol: "1.0" or "1.1".
	jsonVersion string
	// queryErrors maps the error codes of a service that speaks JSON or
	// CBOR as well as the Query protocol to the names of its error shapes;
	// such a service tells clients the Query code of an error in the
	// X-Amzn-Query-Error header.
	queryErrors map[string]string
	// signingName is the service of its requests' credential scopes.
	signingName string
	// global is set for a service that is not of a Region (STS and
	// Organizations, in the fake).
	global bool
	// authStyle is how it answers credentials that do not reach it.
	authStyle authStyle
	ops       map[string]operation
}

func newService(s service, ops ...operation) *service {
	s.ops = make(map[string]operation, len(ops))
	for _, op := range ops {
		s.ops[op.name] = op
	}
	return &s
}

// queryCompatible reports whether the service answers Query error codes in
// its JSON and CBOR protocols.
func (s *service) queryCompatible() bool { return len(s.queryErrors) > 0 }

// The services and their operations. To serve a new operation of a fake,
// add one line here: its name and its method; the codecs derive its shapes
// from the SDK's input and output types (for EC2, names that differ from
// the default rules are in ec2Names, which TestE2EEC2NamesMatchModel checks;
// for the AWS Query services, in awsQueryNames, which
// TestE2EQueryNamesMatchModel checks).
var (
	ec2Service = newService(service{name: "EC2", version: ec2Version, style: ec2Query,
		xmlns: "http://ec2.amazonaws.com/doc/" + ec2Version + "/", signingName: "ec2"},
		bind("RunInstances", ec2Of, (*EC2).RunInstances),
		bind("StartInstances", ec2Of, (*EC2).StartInstances),
		bind("StopInstances", ec2Of, (*EC2).StopInstances),
		bind("TerminateInstances", ec2Of, (*EC2).TerminateInstances),
		bind("DescribeInstances", ec2Of, (*EC2).DescribeInstances),
		bind("RegisterImage", ec2Of, (*EC2).RegisterImage),
		bind("DescribeImages", ec2Of, (*EC2).DescribeImages),
		bind("GetInstanceMetadataDefaults", ec2Of, (*EC2).GetInstanceMetadataDefaults),
		bind("ModifyInstanceMetadataDefaults", ec2Of, (*EC2).ModifyInstanceMetadataDefaults),
		bind("ModifyInstanceMetadataOptions", ec2Of, (*EC2).ModifyInstanceMetadataOptions),
		bind("ModifyImageAttribute", ec2Of, (*EC2).ModifyImageAttribute),
		bind("DescribeImageAttribute", ec2Of, (*EC2).DescribeImageAttribute),
		bind("CreateLaunchTemplate", ec2Of, (*EC2).CreateLaunchTemplate),
		bind("CreateLaunchTemplateVersion", ec2Of, (*EC2).CreateLaunchTemplateVersion),
		bind("DescribeLaunchTemplates", ec2Of, (*EC2).DescribeLaunchTemplates),
		bind("DescribeLaunchTemplateVersions", ec2Of, (*EC2).DescribeLaunchTemplateVersions),
		bind("ModifyLaunchTemplate", ec2Of, (*EC2).ModifyLaunchTemplate),
		bind("DeleteLaunchTemplate", ec2Of, (*EC2).DeleteLaunchTemplate),
		bind("DeleteLaunchTemplateVersions", ec2Of, (*EC2).DeleteLaunchTemplateVersions),
		bind("DescribeRegions", ec2Of, (*EC2).DescribeRegions),
	)
	cloudWatchService = newService(service{name: "CloudWatch", version: cloudWatchVersion, style: awsQuery,
		xmlns: "http://monitoring.amazonaws.com/doc/" + cloudWatchVersion + "/", target: cloudWatchServiceName, cbor: true,
		jsonVersion: "1.0", signingName: "monitoring", authStyle: queryAuth,
		queryErrors: map[string]string{
			"InternalServiceError":        "InternalServiceFault",
			"InvalidNextToken":            "InvalidNextToken",
			"InvalidParameterCombination": "InvalidParameterCombinationException",
			"InvalidParameterValue":       "InvalidParameterValueException",
			"MissingParameter":            "MissingRequiredParameterException",
			"LimitExceeded":               "LimitExceededFault",
		}},
		bind("GetMetricData", cloudWatchOf, (*CloudWatch).GetMetricData),
	)
	autoScalingService = newService(service{name: asService, version: autoScalingVersion, style: awsQuery,
		xmlns: "http://autoscaling.amazonaws.com/doc/" + autoScalingVersion + "/", signingName: "autoscaling", authStyle: queryAuth},
		bind(opCreateAutoScalingGroup, autoScalingOf, (*AutoScaling).CreateAutoScalingGroup),
		bind(opUpdateAutoScalingGroup, autoScalingOf, (*AutoScaling).UpdateAutoScalingGroup),
		bind(opDescribeAutoScalingGroups, autoScalingOf, (*AutoScaling).DescribeAutoScalingGroups),
		bind(opSetDesiredCapacity, autoScalingOf, (*AutoScaling).SetDesiredCapacity),
		bind(opCreateLaunchConfiguration, autoScalingOf, (*AutoScaling).CreateLaunchConfiguration),
		bind(opDescribeLaunchConfigurations, autoScalingOf, (*AutoScaling).DescribeLaunchConfigurations),
		bind(opDescribeScalingActivities, autoScalingOf, (*AutoScaling).DescribeScalingActivities),
	)
	stsServiceDef = newService(service{name: stsService, version: stsVersion, style: awsQuery,
		xmlns: "https://sts.amazonaws.com/doc/" + stsVersion + "/", signingName: "sts", global: true, authStyle: queryAuth},
		bind(opAssumeRole, stsOf, (*STS).AssumeRole),
		bind(opGetCallerIdentity, stsOf, (*STS).GetCallerIdentity),
	)
	organizationsService = newService(service{name: orgsService, target: organizationsTargetName, jsonVersion: "1.1",
		signingName: "organizations", global: true, authStyle: jsonAuth},
		bind(opListAccounts, organizationsOf, (*Organizations).ListAccounts),
	)
	services = []*service{ec2Service, cloudWatchService, autoScalingService, stsServiceDef, organizationsService}
)

// Conformance of the fakes' methods to the SDK clients', checked where the
// handler relies on it.
var (
	_ = (*ec2.Client).DescribeInstances
	_ = (*cloudwatch.Client).GetMetricData
	_ = (*autoscaling.Client).DescribeAutoScalingGroups
	_ = (*sts.Client).AssumeRole
	_ = (*organizations.Client).ListAccounts
)

// auth returns what the service answers for credentials that fail for
// reason why.
func (s *service) auth(why authFailure) authAnswer { return s.authStyle.answer(why) }
